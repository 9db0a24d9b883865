from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "broadsheet.core"
    label = "core"

    def ready(self) -> None:
        from broadsheet.core import checks  # noqa: F401  (registers the checks)
