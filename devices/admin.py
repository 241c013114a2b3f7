from django.contrib import admin, messages
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.exceptions import PermissionDenied
from django.core.files.storage import storages
from django.db.models import QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from devices.commands import apply_config, request_capture
from devices.config import config_payload, current_config
from devices.control_images import control_images_of, find_control_image
from devices.enrollment import create_enrollment_token
from devices.forms import CameraConfigForm
from devices.health import camera_status
from devices.messaging import PublishFailed
from devices.models import Camera, EnrollmentToken
from pipeline.counts import current_counts
from zones.forms import ZoneForm
from zones.models import Zone

# Each picture shown is a view recorded in the admin log; a short gallery
# keeps the record readable.
GALLERY_SIZE = 8


class ZoneInline(admin.TabularInline):
    model = Zone
    form = ZoneForm
    extra = 0
    fields = ["name", "polygon", "capacity", "active"]


@admin.register(Camera)
class CameraAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "status",
        "last_seen",
        "last_snapshot_at",
        "agent_version",
        "config_version",
        "sampling_interval",
    ]
    search_fields = ["id", "description"]
    readonly_fields = [
        "created",
        "serial",
        "last_seen",
        "last_snapshot_at",
        "agent_version",
        "config_version",
    ]
    change_list_template = "admin/devices/camera/change_list.html"
    inlines = [ZoneInline]
    actions = ["request_control_images", "issue_new_token"]
    change_form_template = "admin/devices/camera/change_form.html"

    class Media:
        css = {"all": ["zones/zone_editor.css"]}
        js = ["zones/zone_editor.js"]

    def get_readonly_fields(self, request: HttpRequest, obj: Camera | None = None):
        # The id is written into object names and topics; it is set once.
        return [*self.readonly_fields, "id"] if obj else self.readonly_fields

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/control-images/<str:name>",
                view(self.control_image_view),
                name="devices_camera_control_image",
            ),
            path(
                "capture-all/",
                view(require_POST(self.capture_all_view)),
                name="devices_camera_capture_all",
            ),
            path("config/", view(self.config_view), name="devices_camera_config"),
            path(
                "<path:object_id>/capture/",
                view(require_POST(self.capture_view)),
                name="devices_camera_capture",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        camera = self.get_object(request, object_id)
        if camera is not None:
            extra_context = {**(extra_context or {}), **self._editor_context(camera)}
        return super().change_view(request, object_id, form_url, extra_context)

    def _editor_context(self, camera: Camera) -> dict:
        images = [
            {
                "url": reverse(
                    "admin:devices_camera_control_image",
                    args=[camera.pk, image.name.split("/", 1)[1]],
                ),
                "captured_at": image.captured_at,
            }
            for image in control_images_of(camera.pk, limit=GALLERY_SIZE)
        ]
        zone_ids = camera.zones.values_list("pk", flat=True)
        counts = current_counts().for_zones(zone_ids)
        return {
            "control_images": images,
            "latest_control_image": images[0] if images else None,
            "zone_counts": {str(zone): count.people for zone, count in counts.items()},
            "pending_capture": camera.capture_requests.filter(
                fulfilled_at=None
            ).first(),
        }

    def control_image_view(
        self, request: HttpRequest, object_id: str, name: str
    ) -> HttpResponse:
        camera = get_object_or_404(Camera, pk=object_id)
        if not self.has_view_permission(request, camera):
            raise PermissionDenied
        image = find_control_image(camera.pk, name)
        if image is None:
            raise Http404("No such control image.")

        LogEntry.objects.log_actions(
            request.user.pk,
            [camera],
            CHANGE,
            change_message=f"Viewed control image {name}",
            single_object=True,
        )
        handle = storages["control_images"].open(image.name, "rb")
        response = FileResponse(handle, content_type="image/jpeg")
        response["Cache-Control"] = "private, no-store"
        return response

    def capture_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        camera = get_object_or_404(Camera, pk=object_id)
        if not self.has_change_permission(request, camera):
            raise PermissionDenied
        self._request_capture(request, [camera])
        return redirect("admin:devices_camera_change", camera.pk)

    @admin.action(description="Capture control images", permissions=["change"])
    def request_control_images(
        self, request: HttpRequest, queryset: QuerySet[Camera]
    ) -> None:
        self._request_capture(request, list(queryset))

    def _request_capture(
        self, request: HttpRequest, cameras: list[Camera] | None
    ) -> None:
        ids = None if cameras is None else [camera.pk for camera in cameras]
        try:
            sent = request_capture(request.user, ids)
        except PublishFailed as error:
            self.message_user(request, f"Nothing was sent: {error}", messages.ERROR)
            return
        self.message_user(
            request, f"Sent to {', '.join(sent['topics'])}: {sent['payload']}"
        )

    def capture_all_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        self._request_capture(request, None)
        return redirect("admin:devices_camera_changelist")

    def config_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        config = current_config()
        form = CameraConfigForm(request.POST or None, initial=config_payload(config))
        if request.method == "POST" and form.is_valid():
            try:
                sent = apply_config(form.cleaned_data)
            except PublishFailed as error:
                self.message_user(request, str(error), messages.WARNING)
            else:
                self.message_user(
                    request, f"Sent to {sent['topics'][0]}: {sent['payload']}"
                )
            return redirect("admin:devices_camera_changelist")
        context = {
            **self.admin_site.each_context(request),
            "title": "Configuration of all cameras",
            "form": form,
            "config": config,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/devices/camera/config.html", context)

    @admin.display(description="status")
    def status(self, camera: Camera) -> str:
        return camera_status(camera, timezone.now())

    @admin.action(
        description="Issue a new API token (the old one stops working)",
        permissions=["change"],
    )
    def issue_new_token(self, request: HttpRequest, queryset: QuerySet[Camera]) -> None:
        for camera in queryset:
            token = camera.set_new_token()
            camera.save(update_fields=["token_hash"])
            self.message_user(
                request,
                f"New token for {camera.pk}, shown only now: {token}",
                messages.WARNING,
            )


@admin.register(EnrollmentToken)
class EnrollmentTokenAdmin(admin.ModelAdmin):
    list_display = ["__str__", "uses_left", "expires_at", "created_by", "created"]
    fields = ["note", "uses_left", "expires_at"]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # A new token is made here so that it can be shown exactly once.
        record, token = create_enrollment_token(
            uses=obj.uses_left, note=obj.note, user=request.user
        )
        record.expires_at = obj.expires_at
        record.save(update_fields=["expires_at"])
        obj.pk = record.pk
        self.message_user(
            request,
            f"Enrollment token, shown only now: {token}",
            messages.WARNING,
        )
