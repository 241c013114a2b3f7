import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, permissions, serializers, status
from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from access.schema import errors
from devices.authentication import CameraTokenAuthentication, IsCamera
from devices.commands import UnknownCameras, apply_config, request_capture
from devices.config import (
    check_time_zone,
    config_payload,
    current_config,
    parse_opening_hours,
)
from devices.control_images import save_control_image
from devices.enrollment import SERIAL, UPLOAD_MODES, EnrollmentRefused, enroll
from devices.health import record_contact
from devices.messaging import PublishFailed
from devices.models import CaptureRequest
from occupancy_site.api import StrictCharField
from pipeline.images import InvalidImage
from pipeline.views import UploadInput, read_upload

logger = logging.getLogger(__name__)


class ControlImageOutput(serializers.Serializer):
    name = serializers.CharField()
    camera = serializers.CharField()
    captured_at = serializers.DateTimeField()


class ControlImageUploadView(APIView):
    """A camera sends the picture administrators draw its zones on."""

    authentication_classes = [CameraTokenAuthentication]
    permission_classes = [IsCamera]

    @extend_schema(
        request={"multipart/form-data": UploadInput},
        responses={201: ControlImageOutput, **errors(400, 401, 403, 413, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        upload = read_upload(request)

        try:
            name = save_control_image(upload.camera_id, upload.data, upload.captured_at)
        except InvalidImage as error:
            raise exceptions.ValidationError({"image": str(error)})
        record_contact(request.user.camera)
        with transaction.atomic():
            pending = CaptureRequest.objects.filter(
                camera_id=upload.camera_id, fulfilled_at=None
            )
            pending.update(fulfilled_at=timezone.now())
        body = {
            "name": name,
            "camera": upload.camera_id,
            "captured_at": upload.captured_at,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class RegisterInput(serializers.Serializer):
    # Taken as sent, untrimmed, so that what the schema allows is what is
    # accepted: a token of spaces is simply an unknown token.
    token = StrictCharField(min_length=1, max_length=200)
    serial = serializers.RegexField(
        SERIAL,
        max_length=63,
        trim_whitespace=False,
        error_messages={"invalid": "Use letters, digits, - and _ only."},
    )
    agent_version = StrictCharField(
        max_length=32, required=False, default="", allow_blank=True
    )


class MqttTopics(serializers.Serializer):
    commands = serializers.CharField()
    broadcast = serializers.CharField()
    config = serializers.CharField()


class MqttDetails(serializers.Serializer):
    host = serializers.CharField()
    port = serializers.IntegerField()
    tls = serializers.BooleanField()
    client_id = serializers.CharField()
    topics = MqttTopics()


class RegisterOutput(serializers.Serializer):
    camera_id = serializers.CharField()
    api_token = serializers.CharField()
    mqtt = MqttDetails()
    upload = serializers.ChoiceField(
        choices=UPLOAD_MODES,
        help_text=(
            "direct: POST each snapshot to /api/v1/uploads/. presigned: ask "
            "/api/v1/uploads/presign for a target and POST it to S3 there."
        ),
    )


class RegisterView(APIView):
    """A new camera registers itself with an enrollment token."""

    authentication_classes: list = []
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        request=RegisterInput,
        responses={201: RegisterOutput, **errors(400, 403, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        form = RegisterInput(data=request.data)
        form.is_valid(raise_exception=True)

        try:
            enrollment = enroll(**form.validated_data)
        except EnrollmentRefused as error:
            raise exceptions.PermissionDenied(str(error))
        logger.info("Camera %s enrolled", enrollment.camera.pk)
        body = {
            "camera_id": enrollment.camera.pk,
            "api_token": enrollment.api_token,
            "mqtt": enrollment.mqtt,
            "upload": enrollment.upload,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class HeartbeatInput(serializers.Serializer):
    agent_version = StrictCharField(max_length=32, required=False, allow_blank=True)
    config_version = serializers.IntegerField(
        min_value=0, max_value=2**31 - 1, required=False, allow_null=True
    )
    # The range the agent accepts in its own configuration file.
    heartbeat_seconds = serializers.IntegerField(
        min_value=10, max_value=86_400, required=False
    )


class ConfigOutput(serializers.Serializer):
    version = serializers.IntegerField()
    sampling_interval = serializers.IntegerField()
    opening_hours = serializers.ListField(
        child=serializers.ListField(child=serializers.CharField())
    )
    time_zone = serializers.CharField()
    jpeg_quality = serializers.IntegerField()


class HeartbeatView(APIView):
    """A camera says it is alive; the answer is the configuration."""

    authentication_classes = [CameraTokenAuthentication]
    permission_classes = [IsCamera]

    @extend_schema(
        request=HeartbeatInput,
        responses={200: ConfigOutput, **errors(400, 401, 403, 415, 429)},
    )
    def post(self, request: Request) -> Response:
        form = HeartbeatInput(data=request.data)
        form.is_valid(raise_exception=True)

        record_contact(request.user.camera, **form.validated_data)
        return Response(config_payload(current_config()))


class DeviceConfigView(APIView):
    """The configuration a camera applies."""

    authentication_classes = [CameraTokenAuthentication]
    permission_classes = [IsCamera]

    @extend_schema(responses={200: ConfigOutput, **errors(401, 403, 429)})
    def get(self, request: Request) -> Response:
        record_contact(request.user.camera)
        return Response(config_payload(current_config()))


class BrokerUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The MQTT broker cannot be reached."


class StaffAPIView(APIView):
    authentication_classes = [SessionAuthentication, BasicAuthentication]
    permission_classes = [permissions.IsAdminUser]


class CaptureInput(serializers.Serializer):
    cameras = serializers.ListField(
        child=serializers.CharField(max_length=63),
        required=False,
        allow_empty=False,
        max_length=1000,
    )


SentOutput = inline_serializer(
    "Sent",
    {
        "sent": inline_serializer(
            "SentMessage",
            {
                "topics": serializers.ListField(child=serializers.CharField()),
                "payload": serializers.DictField(),
            },
        )
    },
)


class CameraCaptureView(StaffAPIView):
    """Staff ask some or all cameras for a control image."""

    @extend_schema(
        request=CaptureInput,
        responses={200: SentOutput, **errors(400, 401, 403, 415, 429, 503)},
    )
    def post(self, request: Request) -> Response:
        form = CaptureInput(data=request.data)
        form.is_valid(raise_exception=True)

        try:
            sent = request_capture(request.user, form.validated_data.get("cameras"))
        except UnknownCameras as error:
            raise exceptions.ValidationError({"cameras": str(error)})
        except PublishFailed as error:
            raise BrokerUnavailable(str(error))
        return Response({"sent": sent})


@extend_schema_field(
    {
        "type": "array",
        "minItems": 1,
        "maxItems": 24,
        "items": {
            "type": "array",
            "minItems": 2,
            "maxItems": 2,
            "uniqueItems": True,
            "items": {
                "type": "string",
                "pattern": r"^(?:[01]\d|2[0-3]):[0-5]\d$|^24:00$",
            },
        },
        "description": "Opening windows as [start, end] times, HH:MM; a "
        "window that ends before it starts runs across midnight.",
    }
)
class OpeningHoursField(serializers.JSONField):
    """Checked by parse_opening_hours; the schema says what it accepts."""


class ConfigInput(serializers.Serializer):
    sampling_interval = serializers.IntegerField(min_value=1, max_value=86_400)
    opening_hours = OpeningHoursField()
    time_zone = serializers.CharField(
        max_length=64, help_text="An IANA time zone name, e.g. Europe/London."
    )
    jpeg_quality = serializers.IntegerField(min_value=10, max_value=100)

    def validate_opening_hours(self, value: object) -> list[list[str]]:
        return _as_drf(parse_opening_hours, value)

    def validate_time_zone(self, value: str) -> str:
        return _as_drf(check_time_zone, value)


class CameraConfigView(StaffAPIView):
    """Staff read or replace the configuration of all cameras."""

    @extend_schema(responses={200: ConfigOutput, **errors(401, 403, 429)})
    def get(self, request: Request) -> Response:
        return Response(config_payload(current_config()))

    @extend_schema(
        request=ConfigInput,
        responses={200: SentOutput, **errors(400, 401, 403, 415, 429, 503)},
    )
    def put(self, request: Request) -> Response:
        form = ConfigInput(data=request.data)
        form.is_valid(raise_exception=True)

        try:
            sent = apply_config(form.validated_data)
        except PublishFailed as error:
            raise BrokerUnavailable(str(error))
        return Response({"sent": sent})


def _as_drf(check, value):
    try:
        return check(value)
    except DjangoValidationError as error:
        raise serializers.ValidationError(error.messages)
