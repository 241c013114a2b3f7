import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import OperationalError, transaction
from django.http import QueryDict
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.api import READER_AUTHENTICATION, ReaderAccess
from access.schema import ReaderSchema, errors
from audit.store import record
from devices.authentication import CameraTokenAuthentication, IsCamera
from devices.health import record_contact
from devices.models import Camera
from pipeline.images import InvalidImage
from pipeline.keys import SnapshotKey, image_id_for
from pipeline.occupancy import space_occupancy
from pipeline.presign import presigned_upload
from pipeline.uploads import accept_snapshot

logger = logging.getLogger(__name__)

# Camera clocks drift; a capture time further ahead than this is refused.
CLOCK_SKEW = timedelta(minutes=5)
# Cameras buffer snapshots while offline, but not for longer than this.
OLDEST_CAPTURE = timedelta(days=7)
# A local folder fails with OSError, an S3 bucket with botocore's errors.
STORE_ERRORS = (OSError, BotoCoreError, ClientError)


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The snapshot is too large."


class SnapshotNotStored(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The snapshot could not be stored; send it again later."
    # Seconds, sent as Retry-After.
    wait = 10


@extend_schema_field(OpenApiTypes.DATETIME)
class CaptureTime(serializers.CharField):
    """An ISO 8601 time with its zone, checked against the clock by the
    serializer that holds it."""


class UploadInput(serializers.Serializer):
    image = serializers.FileField(allow_empty_file=True)
    captured_at = CaptureTime(required=False, max_length=40)
    camera = serializers.CharField(required=False, max_length=63)

    def validate_captured_at(self, text: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise serializers.ValidationError(
                "Give an ISO 8601 time, e.g. 2026-12-03T14:05:00Z."
            )
        if value.tzinfo is None:
            raise serializers.ValidationError(
                "Give a time zone, e.g. 2026-12-03T14:05:00Z."
            )
        now = timezone.now()
        if value > now + CLOCK_SKEW:
            raise serializers.ValidationError("The capture time is in the future.")
        if value < now - OLDEST_CAPTURE:
            raise serializers.ValidationError("The capture time is too old to count.")
        return value


class UploadOutput(serializers.Serializer):
    image_id = serializers.CharField()
    camera = serializers.CharField()
    captured_at = serializers.DateTimeField()


class UploadView(APIView):
    """A camera sends one snapshot to be counted."""

    authentication_classes = [CameraTokenAuthentication]
    permission_classes = [IsCamera]

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={201: UploadOutput, **errors(400, 401, 403, 413, 415, 429, 503)},
    )
    def post(self, request: Request) -> Response:
        upload = read_upload(request)

        try:
            key = _store(request.user.camera, upload)
        except InvalidImage as error:
            raise exceptions.ValidationError({"image": str(error)})
        except OperationalError as error:
            raise _not_stored(upload, "the database is busy", error)
        except STORE_ERRORS as error:
            raise _not_stored(upload, "the image cache refused it", error)
        record(upload.camera_id, key.image_id, "received", f"{len(upload.data)} bytes")
        body = {
            "image_id": key.image_id,
            "camera": upload.camera_id,
            "captured_at": key.captured_at,
        }
        return Response(body, status=status.HTTP_201_CREATED)


@dataclass(frozen=True)
class Upload:
    camera_id: str
    data: bytes
    captured_at: datetime


def _store(camera: Camera, upload: Upload) -> SnapshotKey:
    """Note the camera's contact and queue its snapshot, both or neither.

    The contact is written first: when the database is locked the upload
    fails before the snapshot is stored, so the camera's retry is not a
    second copy of one already on its way to be counted.
    """
    with transaction.atomic():
        record_contact(camera, snapshot=True)
        return accept_snapshot(upload.camera_id, upload.data, upload.captured_at)


def _not_stored(upload: Upload, reason: str, error: Exception) -> SnapshotNotStored:
    logger.error(
        "Could not accept image %s of camera %s: %s: %s",
        image_id_for(upload.data),
        upload.camera_id,
        reason,
        error,
    )
    return SnapshotNotStored(
        f"The snapshot was not stored: {reason}. Send it again later."
    )


def read_upload(request: Request) -> Upload:
    """Validate a camera's multipart upload of one JPEG.

    The token's camera is the only one a request may speak for.
    """
    limit = settings.MAX_UPLOAD_BYTES
    if _content_length(request) > limit + 64 * 1024:
        raise PayloadTooLarge(f"The request is larger than {limit} bytes.")

    _refuse_repeated_fields(request)
    form = UploadInput(data=request.data)
    form.is_valid(raise_exception=True)
    camera = request.user.camera
    claimed = form.validated_data.get("camera")
    if claimed is not None and claimed != camera.pk:
        raise exceptions.PermissionDenied(
            f"This token belongs to camera {camera.pk}, not {claimed[:63]}."
        )
    image = form.validated_data["image"]
    if image.size > limit:
        raise PayloadTooLarge(f"The image is larger than {limit} bytes.")
    captured_at = form.validated_data.get("captured_at") or timezone.now()
    return Upload(camera.pk, image.read(), captured_at)


def _refuse_repeated_fields(request: Request) -> None:
    # A form may repeat a field; only the last would be read, so one that
    # comes twice is refused rather than half ignored.
    if not isinstance(request.data, QueryDict):
        return
    for field, values in request.data.lists():
        if len(values) > 1:
            raise exceptions.ValidationError(
                {field[:40]: f"Give this field once, not {len(values)} times."}
            )


def _content_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class PresignInput(serializers.Serializer):
    captured_at = CaptureTime(max_length=40)
    sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        error_messages={
            "invalid": "Give the SHA-256 of the JPEG as 64 lowercase hex digits."
        },
    )

    validate_captured_at = UploadInput.validate_captured_at


class PresignOutput(UploadOutput):
    key = serializers.CharField()
    url = serializers.URLField()
    fields = serializers.DictField(child=serializers.CharField())
    expires_in = serializers.IntegerField()


class PresignView(APIView):
    """A camera on AWS asks where to send one snapshot, then POSTs it to
    S3 itself."""

    authentication_classes = [CameraTokenAuthentication]
    permission_classes = [IsCamera]

    @extend_schema(
        request=PresignInput,
        responses={200: PresignOutput, **errors(400, 401, 403, 404, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        if settings.OCCUPANCY_BACKEND != "aws":
            raise exceptions.NotFound(
                "Upload targets exist on AWS only: POST the snapshot to "
                "/api/v1/uploads/."
            )
        form = PresignInput(data=request.data)
        form.is_valid(raise_exception=True)

        camera = request.user.camera
        key = SnapshotKey(
            camera_id=camera.pk,
            captured_at=form.validated_data["captured_at"],
            image_id=form.validated_data["sha256"][:24],
        )
        target = presigned_upload(
            settings.IMAGE_CACHE_BUCKET, key.name, settings.MAX_UPLOAD_BYTES
        )
        # The snapshot goes to S3 next, past this server: asking for its
        # target is the camera's sign of life with a snapshot.
        record_contact(camera, snapshot=True)

        body = {
            "image_id": key.image_id,
            "camera": camera.pk,
            "captured_at": key.captured_at,
            "key": key.name,
            "url": target.url,
            "fields": target.fields,
            "expires_in": target.expires_in,
        }
        return Response(body)


class UsualFigure(serializers.Serializer):
    average = serializers.FloatField()
    samples = serializers.IntegerField()
    low = serializers.FloatField()
    high = serializers.FloatField()


class UsualSlot(serializers.Serializer):
    by = serializers.ChoiceField(choices=["hour", "weekday_hour"])
    weekday = serializers.IntegerField(allow_null=True)
    hour = serializers.IntegerField()


class SpaceTotal(serializers.Serializer):
    people = serializers.IntegerField()
    capacity = serializers.IntegerField(allow_null=True)
    zones = serializers.IntegerField()
    counted_zones = serializers.IntegerField()
    stale = serializers.BooleanField()
    usual = UsualFigure(allow_null=True)


class ZoneOccupancy(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    camera = serializers.CharField()
    people = serializers.IntegerField(allow_null=True)
    people_raw = serializers.IntegerField(allow_null=True)
    capacity = serializers.IntegerField(allow_null=True)
    captured_at = serializers.DateTimeField(allow_null=True)
    stale = serializers.BooleanField()
    usual = UsualFigure(allow_null=True)


class OccupancyOutput(serializers.Serializer):
    generated_at = serializers.DateTimeField()
    total = SpaceTotal()
    usual_for = UsualSlot(allow_null=True)
    zones = ZoneOccupancy(many=True)


class OccupancyView(APIView):
    """How many people are in each active zone now, and in the space."""

    authentication_classes = READER_AUTHENTICATION
    permission_classes = [ReaderAccess]
    schema = ReaderSchema()

    @extend_schema(responses={200: OccupancyOutput, **errors(401, 403, 429)})
    def get(self, request: Request) -> Response:
        return Response(space_occupancy(timezone.now()))
