from django.apps import AppConfig


class SourcesConfig(AppConfig):
    name = "broadsheet.sources"
    label = "sources"
