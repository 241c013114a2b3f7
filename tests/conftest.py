import os

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from rest_framework.test import APIClient

from devices.broker import EmbeddedBroker
from tests.helpers import WHOLE_PICTURE, make_camera
from tests.process_helpers import free_port
from zones.models import Zone
from zones.selections import zone_selections

# Playwright's sync API runs an event loop in the test's thread; the
# database calls made by browser tests around it are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

STORE_ALIASES = ("image_cache", "processed_images", "control_images", "data_lake")


@pytest.fixture(autouse=True)
def stores(tmp_path, settings):
    """Every test gets empty stores of its own."""
    backend = "pipeline.storage.AtomicFileSystemStorage"
    settings.STORAGES = {
        **settings.STORAGES,
        **{
            alias: {"BACKEND": backend, "OPTIONS": {"location": tmp_path / alias}}
            for alias in STORE_ALIASES
        },
    }
    zone_selections().forget()
    # Request rates are counted in the cache; each test starts afresh.
    cache.clear()
    return tmp_path


@pytest.fixture
def lobby(db):
    """A camera with one zone over its whole picture, and its token."""
    camera, token = make_camera("lobby")
    Zone.objects.create(camera=camera, name="Everywhere", polygon=WHOLE_PICTURE)
    return camera, token


@pytest.fixture
def cafeteria(db):
    camera, token = make_camera("cafeteria")
    Zone.objects.create(camera=camera, name="Tables", polygon=WHOLE_PICTURE)
    return camera, token


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("alice", "", "a long password")


@pytest.fixture
def client_for():
    def make(token: str | None = None) -> APIClient:
        client = APIClient()
        if token:
            client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        return client

    return make


CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Debian's Chromium: browser builds cannot be downloaded here."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def mqtt_broker(settings):
    """The embedded broker on a free loopback port, named by MQTT_URL."""
    bind = f"127.0.0.1:{free_port()}"
    broker = EmbeddedBroker(bind)
    broker.start()
    settings.MQTT_URL = settings.MQTT_PUBLIC_URL = f"mqtt://{bind}"
    yield settings.MQTT_URL
    broker.stop()
