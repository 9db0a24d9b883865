from django.apps import AppConfig


class AiConfig(AppConfig):
    name = "broadsheet.ai"
    label = "ai"
