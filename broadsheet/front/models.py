from __future__ import annotations

from django.db import models


class AdSlot(models.Model):
    """An operator's advertisement slot in article pages: off unless one is enabled.

    The HTML is the operator's own (a house ad, a sponsor's banner) and is shown as written;
    only staff with the change permission can edit it. It appears between paragraphs, every
    ``every_paragraphs`` paragraphs, labelled "Advertisement", in a box of fixed height.
    """

    name = models.CharField(max_length=100)
    html = models.TextField(help_text="shown as written, between paragraphs")
    every_paragraphs = models.PositiveSmallIntegerField(default=4)
    height = models.PositiveSmallIntegerField(
        default=250, help_text="pixels reserved, so the text does not jump when the ad loads"
    )
    enabled = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
