from django.apps import AppConfig


class FrontConfig(AppConfig):
    name = "broadsheet.front"
    label = "front"
