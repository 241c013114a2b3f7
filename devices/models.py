import hashlib
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

# A camera's id names its folder in every store and its MQTT topics, so it
# is kept to characters that are safe in object keys, paths and topics.
camera_id_validator = RegexValidator(
    r"^[a-z0-9][a-z0-9-]{0,62}$",
    "Use 1 to 63 lowercase letters, digits and hyphens, starting with a "
    "letter or digit.",
)


def hash_token(token: str) -> str:
    # Tokens are 256-bit random strings, so a plain digest is enough to
    # keep them useless if the database leaks.
    return hashlib.sha256(token.encode()).hexdigest()


def _default_interval() -> int:
    return settings.DEFAULT_SAMPLING_INTERVAL


class Camera(models.Model):
    id = models.CharField(
        primary_key=True, max_length=63, validators=[camera_id_validator]
    )
    description = models.CharField(max_length=200, blank=True)
    sampling_interval = models.PositiveIntegerField(
        default=_default_interval,
        validators=[MinValueValidator(1), MaxValueValidator(86_400)],
        help_text="Seconds between two snapshots.",
    )
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    serial = models.CharField(
        max_length=64, unique=True, null=True, blank=True, editable=False
    )
    created = models.DateTimeField(auto_now_add=True)
    # Health, written by uploads and heartbeats.
    last_seen = models.DateTimeField(null=True, blank=True, editable=False)
    last_snapshot_at = models.DateTimeField(null=True, blank=True, editable=False)
    agent_version = models.CharField(max_length=32, blank=True, editable=False)
    config_version = models.PositiveIntegerField(null=True, blank=True, editable=False)
    heartbeat_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        editable=False,
        help_text="Seconds between two heartbeats, as the camera last said.",
    )

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id

    def set_new_token(self) -> str:
        """Replace the camera's API token and return the new one.

        Only the digest is stored; the caller shows the token once.
        """
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token


class CaptureRequest(models.Model):
    """An administrator asked a camera for a control image."""

    command_id = models.CharField(max_length=32, blank=True)
    camera = models.ForeignKey(
        Camera, on_delete=models.CASCADE, related_name="capture_requests"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    fulfilled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at"]


class EnrollmentToken(models.Model):
    """A secret that lets new cameras register themselves.

    Only its digest is stored; the token is shown once when it is made.
    """

    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    note = models.CharField(max_length=200, blank=True)
    uses_left = models.PositiveIntegerField(
        default=1, help_text="How many more cameras may register with it."
    )
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return self.note or f"Enrollment token {self.pk}"


class CameraConfig(models.Model):
    """The configuration every camera applies: one row, versioned."""

    version = models.PositiveIntegerField(default=1)
    sampling_interval = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1), MaxValueValidator(86_400)]
    )
    opening_hours = models.JSONField(default=list)
    time_zone = models.CharField(max_length=64, default="UTC")
    jpeg_quality = models.PositiveSmallIntegerField(
        default=85, validators=[MinValueValidator(10), MaxValueValidator(100)]
    )
    updated = models.DateTimeField(auto_now=True)
