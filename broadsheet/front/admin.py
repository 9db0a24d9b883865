from django.contrib import admin

from broadsheet.front.models import AdSlot


@admin.register(AdSlot)
class AdSlotAdmin(admin.ModelAdmin):
    list_display = ("name", "enabled", "every_paragraphs", "height")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("name",)
