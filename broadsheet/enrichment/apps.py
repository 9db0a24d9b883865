from django.apps import AppConfig


class EnrichmentConfig(AppConfig):
    name = "broadsheet.enrichment"
    label = "enrichment"
