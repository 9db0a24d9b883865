"""System checks that report misconfiguration from environment variables by id."""

from __future__ import annotations

from django.conf import settings
from django.core import checks

from broadsheet.conf import PROBLEMS


@checks.register(checks.Tags.compatibility)
def environment_values(app_configs=None, **kwargs):
    return [
        checks.Error(
            f"{problem.name}={problem.value!r}: {problem.message}",
            hint=f"Fix or unset the environment variable {problem.name}.",
            id=problem.check_id,
        )
        for problem in PROBLEMS
    ]


@checks.register(checks.Tags.compatibility)
def poll_bounds(app_configs=None, **kwargs):
    if settings.BROADSHEET_POLL_MIN_INTERVAL > settings.BROADSHEET_POLL_MAX_INTERVAL:
        return [
            checks.Error(
                "BROADSHEET_POLL_MIN_INTERVAL is larger than BROADSHEET_POLL_MAX_INTERVAL",
                id="broadsheet.E006",
            )
        ]
    return []


@checks.register(checks.Tags.security)
def allowed_networks(app_configs=None, **kwargs):
    import ipaddress

    errors = []
    for item in settings.BROADSHEET_ALLOWED_NETWORKS:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            errors.append(
                checks.Error(
                    f"BROADSHEET_ALLOWED_NETWORKS: {item!r} is not an IP address or network",
                    hint="Use addresses or CIDR networks, e.g. 127.0.0.1,10.20.0.0/16",
                    id="broadsheet.E007",
                )
            )
    return errors


@checks.register(checks.Tags.compatibility)
def llm_backend(app_configs=None, **kwargs):
    from broadsheet.ai.llm import LLMConfig

    config = LLMConfig.from_settings()
    problem = config.problem() if config.base_url else ""  # no LLM configured: offline AI
    if not problem:
        return []
    return [checks.Error(problem, id="broadsheet.E011")]
