from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from devices.authentication import CameraTokenAuthentication, IsCamera
from devices.control_images import save_control_image
from devices.models import CaptureRequest
from pipeline.images import InvalidImage
from pipeline.views import read_upload


class ControlImageUploadView(APIView):
    """A camera sends the picture administrators draw its zones on."""

    authentication_classes = [CameraTokenAuthentication]
    permission_classes = [IsCamera]

    def post(self, request: Request) -> Response:
        upload = read_upload(request)

        try:
            name = save_control_image(upload.camera_id, upload.data, upload.captured_at)
        except InvalidImage as error:
            raise exceptions.ValidationError({"image": str(error)})
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
