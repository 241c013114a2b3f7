from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from audit.models import ImageEvent
from audit.store import KEEP_LIMIT, longest_lives

# How many of the longest-kept images the page lists.
SHOWN = 10


@admin.register(ImageEvent)
class ImageEventAdmin(admin.ModelAdmin):
    """Read-only: the record of each snapshot's life is evidence."""

    list_display = ["at", "camera_id", "image_id", "stage", "outcome"]
    list_filter = ["stage", "camera_id"]
    search_fields = ["image_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(
        self, request: HttpRequest, extra_context: dict | None = None
    ) -> HttpResponse:
        lives = longest_lives(timezone.now())
        context = {
            **(extra_context or {}),
            "longest": lives[0] if lives else None,
            "lives": lives[:SHOWN],
            "over_limit": [life for life in lives if life.kept > KEEP_LIMIT],
            "limit_seconds": int(KEEP_LIMIT.total_seconds()),
        }
        return super().changelist_view(request, extra_context=context)
