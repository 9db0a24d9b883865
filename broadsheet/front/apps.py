from django.apps import AppConfig


class FrontConfig(AppConfig):
    name = "broadsheet.front"
    label = "front"

    def ready(self) -> None:
        from broadsheet.front import signals

        signals.connect()
