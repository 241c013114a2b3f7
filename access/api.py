"""Who may read the API, and how often anyone may call it.

Readers (the dashboard and the read API) need nothing by default; with
API_KEYS_REQUIRED they need an API key (`Authorization: Key <key>`) or a
staff session. Cameras act only with their own token, and every caller
is throttled: readers per key or address, cameras per camera.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import authentication, exceptions, permissions, throttling
from rest_framework.request import Request

from access.models import ApiKey
from devices.authentication import CameraPrincipal
from devices.models import hash_token


@dataclass(frozen=True)
class KeyHolder:
    """A client that presented a valid API key."""

    key: ApiKey
    is_authenticated: bool = True
    is_staff: bool = False


class ApiKeyAuthentication(authentication.TokenAuthentication):
    keyword = "Key"

    def authenticate_credentials(self, key: str) -> tuple[KeyHolder, str]:
        record = ApiKey.objects.filter(key_hash=hash_token(key), active=True).first()
        if record is None:
            raise exceptions.AuthenticationFailed("The API key is not valid.")
        ApiKey.objects.filter(pk=record.pk).update(last_used=timezone.now())
        return KeyHolder(record), key


class ReaderAccess(permissions.BasePermission):
    message = "An API key is required: send Authorization: Key <key>."

    def has_permission(self, request: Request, view: object) -> bool:
        if not settings.API_KEYS_REQUIRED:
            return True
        user = request.user
        if isinstance(user, KeyHolder):
            return True
        return bool(user and user.is_authenticated and user.is_staff)


READER_AUTHENTICATION = [
    ApiKeyAuthentication,
    authentication.SessionAuthentication,
]


class ReaderThrottle(throttling.SimpleRateThrottle):
    scope = "reader"

    def get_rate(self) -> str:
        return settings.READER_RATE

    def get_cache_key(self, request: Request, view: object) -> str | None:
        user = request.user
        if isinstance(user, CameraPrincipal):
            return None  # cameras have their own rate
        if isinstance(user, KeyHolder):
            ident = f"key-{user.key.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class CameraThrottle(throttling.SimpleRateThrottle):
    scope = "camera"

    def get_rate(self) -> str:
        return settings.CAMERA_RATE

    def get_cache_key(self, request: Request, view: object) -> str | None:
        if not isinstance(request.user, CameraPrincipal):
            return None
        ident = request.user.camera.pk
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """How the API schema describes a reader's API key."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix=self.target.keyword
        )
