"""Security headers on every response.

django-csp builds the Content-Security-Policy from ``settings.CONTENT_SECURITY_POLICY``; this
subclass only adds what neither it nor Django 5.2's SecurityMiddleware sends. HSTS, nosniff,
Referrer-Policy and Cross-Origin-Opener-Policy stay with Django's SecurityMiddleware.
"""

from __future__ import annotations

import http.client
from functools import lru_cache

from csp.constants import HEADER, HEADER_REPORT_ONLY
from csp.middleware import CheckableLazyObject, CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# Per-view changes to the policy (django-csp's decorators); with none, the policy is the site's.
VIEW_OVERRIDES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
)
DEBUG_PAGES = (http.client.INTERNAL_SERVER_ERROR, http.client.NOT_FOUND)


@lru_cache(maxsize=1)
def site_policies() -> tuple[str, str]:
    """The enforced and report-only headers from settings alone. django-csp builds them anew for
    every response, which took about a third of the time of a cached page."""
    return build_policy(), build_policy(report_only=True)


@receiver(setting_changed)
def _policy_setting_changed(setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        site_policies.cache_clear()


class SecurityHeadersMiddleware(CSPMiddleware):
    """The site's CSP, plus a Permissions-Policy that turns off device APIs no page uses."""

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if self.uses_site_policy(request, response):
            response = self.add_site_policy(request, response)
        else:
            response = super().process_response(request, response)
        policy = settings.BROADSHEET_PERMISSIONS_POLICY
        if policy and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = policy
        return response

    @staticmethod
    def uses_site_policy(request: HttpRequest, response: HttpResponseBase) -> bool:
        """No nonce was used and no view changed the policy: the memoised headers apply."""
        if isinstance(getattr(request, "_csp_nonce", None), str):
            return False
        return all(getattr(response, name, None) is None for name in VIEW_OVERRIDES)

    def add_site_policy(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        """What ``CSPMiddleware.process_response`` does, with the policy built once."""
        if response.status_code in DEBUG_PAGES and settings.DEBUG:
            return response
        enforced, report_only = site_policies()
        for header, value, exempt, setting in (
            (HEADER, enforced, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
            (
                HEADER_REPORT_ONLY,
                report_only,
                "_csp_exempt_ro",
                "CONTENT_SECURITY_POLICY_REPORT_ONLY",
            ),
        ):
            if not value or header in response or getattr(response, exempt, False) is not False:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[header] = value
        # As django-csp does: a nonce asked for after the header is written is an error.
        if getattr(request, "_csp_nonce", None) is None:
            request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response
