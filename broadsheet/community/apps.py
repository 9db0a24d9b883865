from django.apps import AppConfig


class CommunityConfig(AppConfig):
    name = "broadsheet.community"
    label = "community"
    verbose_name = "Readers and comments"
