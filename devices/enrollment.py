"""Cameras registering themselves with an enrollment token."""

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions, status

from devices.messaging import BROADCAST_COMMANDS, CONFIG_TOPIC, command_topic
from devices.models import Camera, EnrollmentToken, hash_token

logger = logging.getLogger(__name__)

SERIAL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
# How a camera sends its snapshots: as a multipart POST to the API, or
# straight to the image cache bucket through a presigned POST it asks the
# API for, so that no image bytes pass through the web function.
DIRECT = "direct"
PRESIGNED = "presigned"
UPLOAD_MODES = (DIRECT, PRESIGNED)


class EnrollmentRefused(Exception):
    pass


class EnrollmentUnavailable(exceptions.APIException):
    """The camera's credentials cannot be issued now; nothing was saved.

    An APIException, so that the registration answers 503 with this
    detail whichever view enrolls; the reason is in the server's log.
    """

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The camera's credentials cannot be issued now; try again later."


@dataclass(frozen=True)
class Enrollment:
    camera: Camera
    api_token: str
    mqtt: dict[str, Any]
    upload: str


def create_enrollment_token(
    uses: int = 1,
    expires_in: timedelta | None = None,
    note: str = "",
    user: Any = None,
) -> tuple[EnrollmentToken, str]:
    token = secrets.token_urlsafe(32)
    record = EnrollmentToken.objects.create(
        token_hash=hash_token(token),
        uses_left=uses,
        expires_at=timezone.now() + expires_in if expires_in else None,
        note=note,
        created_by=user,
    )
    return record, token


def camera_id_for(serial: str) -> str:
    return f"cam-{serial.lower().replace('_', '-')}"[:63]


@transaction.atomic
def enroll(token: str, serial: str, agent_version: str = "") -> Enrollment:
    """Register the camera with this serial, or give it a new API token.

    Raises EnrollmentRefused with the reason for the device.
    """
    record = (
        EnrollmentToken.objects.select_for_update()
        .filter(token_hash=hash_token(token))
        .first()
    )
    if record is None:
        raise EnrollmentRefused("The enrollment token is not valid.")
    if record.expires_at is not None and record.expires_at <= timezone.now():
        raise EnrollmentRefused("The enrollment token has expired.")
    if record.uses_left < 1:
        raise EnrollmentRefused("The enrollment token has been used up.")

    camera = Camera.objects.filter(serial=serial).first()
    if camera is None:
        camera = Camera(id=camera_id_for(serial), serial=serial)
        if Camera.objects.filter(pk=camera.pk).exists():
            raise EnrollmentRefused("Another camera already has this camera's name.")
    api_token = camera.set_new_token()
    camera.agent_version = agent_version[:32]
    camera.save()
    record.uses_left -= 1
    record.save(update_fields=["uses_left"])
    # Last, inside the transaction: when AWS refuses, nothing is kept.
    if settings.OCCUPANCY_BACKEND == "aws":
        mqtt = iot_details(camera)
    else:
        mqtt = mqtt_details(camera)
    return Enrollment(
        camera=camera, api_token=api_token, mqtt=mqtt, upload=upload_mode()
    )


def upload_mode() -> str:
    """How cameras of this deployment send their snapshots."""
    return PRESIGNED if settings.OCCUPANCY_BACKEND == "aws" else DIRECT


def mqtt_details(camera: Camera) -> dict[str, Any]:
    url = urlsplit(settings.MQTT_PUBLIC_URL)
    return {
        "host": url.hostname or "127.0.0.1",
        "port": url.port or (8883 if url.scheme == "mqtts" else 1883),
        "tls": url.scheme == "mqtts",
        "client_id": camera.pk,
        "topics": _topics(camera),
    }


def iot_details(camera: Camera) -> dict[str, Any]:
    """Issue the camera's certificate on AWS IoT Core, and where to use it.

    No CA goes with it: the ATS endpoint's certificate chains to Amazon
    Root CA 1, which the camera's system trust store holds.
    """
    from devices import iot

    try:
        host = iot.data_endpoint()
        certificate = iot.issue_certificate(
            camera.pk, settings.IOT_POLICY_NAME, settings.IOT_THING_GROUP
        )
    except iot.IotUnavailable as error:
        logger.error("Cannot enroll camera %s: %s", camera.pk, error)
        raise EnrollmentUnavailable()
    return {
        "host": host,
        "port": iot.MQTT_PORT,
        "tls": True,
        # The policy lets a certificate connect only as its own thing.
        "client_id": camera.pk,
        "certificate_pem": certificate.certificate_pem,
        "private_key": certificate.private_key,
        "topics": _topics(camera),
    }


def _topics(camera: Camera) -> dict[str, str]:
    return {
        "commands": command_topic(camera.pk),
        "broadcast": BROADCAST_COMMANDS,
        "config": CONFIG_TOPIC,
    }
