from django.core.exceptions import ValidationError
from django.db import models

from devices.models import Camera
from zones.geometry import ZoneShape, parse_polygon


def validate_polygon(value: object) -> None:
    parse_polygon(value)


class Zone(models.Model):
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="zones")
    name = models.CharField(max_length=80)
    polygon = models.JSONField(
        validators=[validate_polygon],
        help_text="Vertices as [[x, y], ...], each coordinate from 0 to 1 "
        "across the camera's picture.",
    )
    capacity = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many people the zone holds."
    )
    active = models.BooleanField(default=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["camera_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["camera", "name"], name="zone_name_unique_per_camera"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.camera_id} / {self.name}"

    def clean(self) -> None:
        if self.name != self.name.strip() or not self.name.isprintable():
            raise ValidationError(
                {"name": "Use a name without control characters or surrounding spaces."}
            )

    def shape(self) -> ZoneShape:
        return ZoneShape(
            id=self.pk, name=self.name, polygon=parse_polygon(self.polygon)
        )


class ZoneSelection(models.Model):
    """The relational zone selections store: one row per camera.

    The pipeline reads zones only from this mirror (a DynamoDB table on
    AWS), never from the Zone table itself.
    """

    camera_id = models.CharField(primary_key=True, max_length=63)
    zones = models.JSONField(default=list)
    updated = models.DateTimeField(auto_now=True)
