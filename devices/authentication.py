from dataclasses import dataclass

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions, permissions
from rest_framework.request import Request

from devices.models import Camera, hash_token


@dataclass(frozen=True)
class CameraPrincipal:
    """Who a request speaks for when it carries a camera's token."""

    camera: Camera
    is_authenticated: bool = True
    is_staff: bool = False

    def __str__(self) -> str:
        return f"camera {self.camera.pk}"


class CameraTokenAuthentication(authentication.TokenAuthentication):
    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[CameraPrincipal, str]:
        camera = Camera.objects.filter(token_hash=hash_token(key)).first()
        if camera is None or not key:
            raise exceptions.AuthenticationFailed("The camera token is not valid.")
        return CameraPrincipal(camera=camera), key


class IsCamera(permissions.BasePermission):
    message = "Only a camera's token may do this."

    def has_permission(self, request: Request, view: object) -> bool:
        return isinstance(request.user, CameraPrincipal)


class CameraTokenScheme(OpenApiAuthenticationExtension):
    """How the API schema describes a camera's token."""

    target_class = CameraTokenAuthentication
    name = "cameraToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )
