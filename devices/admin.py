from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from devices.models import Camera
from zones.models import Zone


class ZoneInline(admin.TabularInline):
    model = Zone
    extra = 0
    fields = ["name", "polygon", "capacity", "active"]


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    list_display = ["id", "description", "sampling_interval", "created"]
    search_fields = ["id", "description"]
    readonly_fields = ["created"]
    inlines = [ZoneInline]
    actions = ["issue_new_token"]

    def get_readonly_fields(self, request: HttpRequest, obj: Camera | None = None):
        # The id is written into object names and topics; it is set once.
        return [*self.readonly_fields, "id"] if obj else self.readonly_fields

    @admin.action(description="Issue a new API token (the old one stops working)")
    def issue_new_token(self, request: HttpRequest, queryset: QuerySet[Camera]) -> None:
        for camera in queryset:
            token = camera.set_new_token()
            camera.save(update_fields=["token_hash"])
            self.message_user(
                request,
                f"New token for {camera.pk}, shown only now: {token}",
                messages.WARNING,
            )
