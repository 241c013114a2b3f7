"""Shared pieces of the aws backend: S3 store settings and boto3 clients.

This module reads no Django setting, so that settings.py, the Lambda
handlers and the provisioning command can all use it. Region, credentials
and endpoint come from boto3's own configuration (AWS_REGION, AWS_PROFILE,
AWS_ENDPOINT_URL, ...).
"""

import threading
from typing import Any

S3_STORAGE = "storages.backends.s3.S3Storage"
# Every object is written encrypted with S3's own keys, on top of the
# buckets' default encryption, so a misconfigured bucket still gets it.
SERVER_SIDE_ENCRYPTION = "AES256"

_lock = threading.Lock()
_clients: dict[tuple[str, str, int, str | None], Any] = {}
_sessions: list[Any] = []
_loaders: list[Any] = []


def s3_store(bucket: str) -> dict[str, Any]:
    """A STORAGES entry for one bucket through django-storages."""
    return {
        "BACKEND": S3_STORAGE,
        "OPTIONS": {
            "bucket_name": bucket,
            "object_parameters": {"ServerSideEncryption": SERVER_SIDE_ENCRYPTION},
            # Object names derive from content and capture time: writing a
            # name again is a retry of the same bytes, never a collision.
            "file_overwrite": True,
            "default_acl": None,
            "querystring_auth": True,
        },
    }


def client(service: str, max_attempts: int = 5, region: str | None = None) -> Any:
    """A boto3 client shared by the whole process.

    Clients are thread-safe and slow to build, and a Lambda container
    serves many invocations, so each is made once. max_attempts is
    botocore's total number of tries per call (1: no retry); region
    overrides boto3's default region.
    """
    key = ("client", service, max_attempts, region)
    with _lock:
        if key not in _clients:
            _clients[key] = _session().client(
                service, region_name=region, config=_config(max_attempts)
            )
        return _clients[key]


def resource(service: str) -> Any:
    """A boto3 resource (DynamoDB tables), shared like the clients."""
    key = ("resource", service, 5, None)
    with _lock:
        if key not in _clients:
            _clients[key] = _session().resource(service, config=_config(5))
        return _clients[key]


def forget_clients() -> None:
    """Drop every client, so the next ones see a changed configuration."""
    with _lock:
        _clients.clear()
        _sessions.clear()


def _session() -> Any:
    # Called with the lock held: a boto3 session is not thread-safe.
    if not _sessions:
        # Imported here: the local backend never needs boto3 at start-up.
        import boto3
        import botocore.session

        core = botocore.session.get_session()
        # The service descriptions are the same for every session: read
        # them once per process, however often the clients are replaced.
        if _loaders:
            core.register_component("data_loader", _loaders[0])
        else:
            _loaders.append(core.get_component("data_loader"))
        _sessions.append(boto3.session.Session(botocore_session=core))
    return _sessions[0]


def _config(max_attempts: int) -> Any:
    from botocore.config import Config

    return Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=5,
        read_timeout=30,
    )
