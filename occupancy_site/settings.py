"""Settings for the occupancy service, read from environment variables.

Every variable is listed with its default in .env.example. The defaults
serve a newcomer running everything on one machine.
"""

import os
import re
import secrets
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from occupancy_site.aws import s3_store
from occupancy_site.env import (
    env_address,
    env_bool,
    env_choice,
    env_float,
    env_int,
    env_list,
    env_path,
    env_str,
    env_time_zone,
    env_url,
)

BASE_DIR = Path(__file__).resolve().parent.parent


def _writable_folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ImproperlyConfigured(
            f"OCCUPANCY_DATA_DIR must name a folder, but {str(path)!r} cannot "
            f"be one: {error.strerror}"
        )
    if not os.access(path, os.W_OK | os.X_OK):
        raise ImproperlyConfigured(
            f"OCCUPANCY_DATA_DIR must name a folder this process may write to, "
            f"not {str(path)!r}"
        )
    return path


OCCUPANCY_BACKEND = env_choice("OCCUPANCY_BACKEND", "local", ["local", "aws"])
# On Lambda only /tmp is writable; the aws backend keeps nothing there
# but the folder for collected static files.
DATA_DIR = _writable_folder(
    env_path(
        "OCCUPANCY_DATA_DIR",
        Path(tempfile.gettempdir()) / "occupancy"
        if OCCUPANCY_BACKEND == "aws"
        else BASE_DIR / "var",
    )
)

DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost"])


def _secret_key() -> str:
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    if OCCUPANCY_BACKEND != "local":
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set")
    # On one machine a key is made once and kept beside the database, so
    # sessions survive restarts without a secret in the repository.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "corsheaders",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "access",
    "devices",
    "zones",
    "pipeline",
    "analytics",
    "audit",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "occupancy_site.urls"
WSGI_APPLICATION = "occupancy_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database_url() -> str:
    url = env_str("DATABASE_URL")
    if OCCUPANCY_BACKEND == "local":
        return url or f"sqlite:///{DATA_DIR / 'occupancy.sqlite3'}"
    # Lambda's file system is read-only and short-lived: no SQLite there.
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        raise ImproperlyConfigured(
            "DATABASE_URL must name a PostgreSQL database when "
            "OCCUPANCY_BACKEND is aws, e.g. postgres://user:password@host/db"
        )
    return url


def _database(url: str, conn_max_age: int) -> dict:
    try:
        return dj_database_url.parse(url, conn_max_age=conn_max_age)
    except ValueError:
        # The URL is not repeated: it holds the database's password.
        scheme = url.partition(":")[0][:20]
        raise ImproperlyConfigured(
            f"DATABASE_URL must be a database URL such as "
            f"postgres://user:password@host/db; {scheme!r} is not a known scheme"
        )


# SQLite in the data directory unless DATABASE_URL names another database.
# WAL and an immediate transaction mode let the web server and the worker
# write to the same file without "database is locked" errors.
DATABASES = {
    "default": _database(
        _database_url(), env_int("DATABASE_CONN_MAX_AGE", 0, minimum=0)
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_time_zone("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = _writable_folder(DATA_DIR / "static")
# Static files are served from the apps directly: no collectstatic step.
WHITENOISE_USE_FINDERS = True


def _local_store(folder: str) -> dict:
    return {
        "BACKEND": "pipeline.storage.AtomicFileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / folder, "base_url": None},
    }


# The four stores of the product, by alias. Only the pipeline and the
# admin open them, through django.core.files.storage.storages.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage",
    },
    "image_cache": _local_store("image-cache"),
    "processed_images": _local_store("processed-images"),
    "control_images": _local_store("control-images"),
    "data_lake": _local_store("data-lake"),
}

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "occupancy_site.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_CLASSES": [
        "access.api.ReaderThrottle",
        "access.api.CameraThrottle",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Readers are throttled per address. X-Forwarded-For names the caller
    # only as far as proxies of ours wrote it: with none, the header is
    # ignored, for any client may forge it.
    "NUM_PROXIES": env_int("TRUSTED_PROXIES", 0, minimum=0, maximum=5),
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Occupancy API",
    "DESCRIPTION": "Live and usual occupancy of camera zones, and the "
    "endpoints cameras use.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's files come from this site, not from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Bodies are documented as JSON, as cameras and scripts send them;
    # the upload endpoints name their multipart form themselves.
    "PARSER_WHITELIST": ["rest_framework.parsers.JSONParser"],
    # The schema and its pages are for readers: keys apply to them too.
    "SERVE_AUTHENTICATION": [
        "access.api.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "SERVE_PERMISSIONS": ["access.api.ReaderAccess"],
}

# Readers (dashboard and read API) are public unless API keys are
# required; keys are made in the admin. Rates are per key or address for
# readers and per camera for cameras, e.g. "120/min".
API_KEYS_REQUIRED = env_bool("API_KEYS_REQUIRED", False)
READER_RATE = env_str("READER_RATE", "120/min")
CAMERA_RATE = env_str("CAMERA_RATE", "120/min")
for _name, _rate in (("READER_RATE", READER_RATE), ("CAMERA_RATE", CAMERA_RATE)):
    if not re.fullmatch(r"\d+/(s|sec|m|min|h|hour|d|day)", _rate):
        raise ImproperlyConfigured(f"{_name} must look like 120/min, not {_rate!r}")
# Browser clients on other origins that may read the API.
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/v1/(occupancy|history)/"
CORS_ALLOW_METHODS = ["GET", "OPTIONS"]

# Behind HTTPS (on AWS by default): redirect plain HTTP, send HSTS and keep
# cookies on HTTPS. Locally the site is plain HTTP on 127.0.0.1.
HTTPS = env_bool("DJANGO_HTTPS", OCCUPANCY_BACKEND == "aws")
if HTTPS:
    SECURE_SSL_REDIRECT = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# How people are counted in a zone: "assign" runs the detector once per
# snapshot and places each person by the bottom centre of their box;
# "crop" runs it once per zone on the zone's blanked bounding box.
COUNT_STRATEGY = env_choice("COUNT_STRATEGY", "assign", ["assign", "crop"])
DETECTOR_SCORE_THRESHOLD = env_float(
    "DETECTOR_SCORE_THRESHOLD", 0.25, minimum=0.01, maximum=0.99
)
# Who finds the people: the CPU model shipped with the local extras, or
# Amazon Rekognition (the aws backend's default: Lambda carries no model).
DETECTOR = env_choice(
    "DETECTOR",
    "rekognition" if OCCUPANCY_BACKEND == "aws" else "ssdlite",
    ["ssdlite", "rekognition"],
)
# Rekognition's confidence, in percent, below which a person is ignored.
REKOGNITION_MIN_CONFIDENCE = env_float(
    "REKOGNITION_MIN_CONFIDENCE", 60.0, minimum=1, maximum=100
)
# Small people: the ssdlite detector also searches the tiles of a
# COLUMNSxROWS grid over the picture, where they look larger, or only the
# whole picture ("off"). `make bench` measures each grid; 2x2 made the
# fewest errors. Rekognition is billed per call: it takes no tiles.
DETECTOR_TILES = env_str("DETECTOR_TILES", "2x2" if DETECTOR == "ssdlite" else "off")
if not re.fullmatch(r"off|[1-4]x[1-4]", DETECTOR_TILES) or DETECTOR_TILES == "1x1":
    raise ImproperlyConfigured(
        f"DETECTOR_TILES must be off or a grid such as 2x2, not {DETECTOR_TILES!r}"
    )
if DETECTOR_TILES != "off" and DETECTOR != "ssdlite":
    raise ImproperlyConfigured("DETECTOR_TILES applies to DETECTOR=ssdlite only")
# Seconds a detector call may take before its snapshot is given up on: a
# call that hangs must not hold later snapshots past the two-minute limit.
DETECTOR_TIMEOUT = env_float("DETECTOR_TIMEOUT", 20.0, minimum=0.1, maximum=60)

# Unchanged snapshots keep their zones' counts without a detector call:
# those in which at most UNCHANGED_THRESHOLD percent of the cells of a
# 32x24 grey thumbnail changed since the detector last ran. It still runs
# on at least every DETECT_EVERY-th snapshot; 1 runs it on every one.
UNCHANGED_THRESHOLD = env_float("UNCHANGED_THRESHOLD", 0.3, minimum=0, maximum=100)
DETECT_EVERY = env_int("DETECT_EVERY", 5, minimum=1, maximum=1000)
# The live figure of a zone is the median of its last SMOOTHING_WINDOW
# counts (1: each count as it comes); the data lake keeps every count.
# Off by default: a median of 3 shows a change one snapshot late.
SMOOTHING_WINDOW = env_int("SMOOTHING_WINDOW", 1, minimum=1, maximum=15)

# Snapshot limits: larger files or images are refused at upload.
MAX_UPLOAD_BYTES = env_int("MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1024)
MAX_IMAGE_PIXELS = env_int("MAX_IMAGE_PIXELS", 16_000_000, minimum=10_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 64 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = MAX_UPLOAD_BYTES + 64 * 1024

# How often the local worker looks for new snapshots.
WORKER_POLL_SECONDS = env_float("WORKER_POLL_SECONDS", 0.5, minimum=0.05, maximum=10)

# Interval given to cameras created without one; a zone is stale after
# three intervals without a count.
DEFAULT_SAMPLING_INTERVAL = env_int(
    "DEFAULT_SAMPLING_INTERVAL", 60, minimum=1, maximum=86_400
)

# The usual occupancy: hour of day over the last HISTORY_DAYS days, weekday
# by hour over the last HISTORY_WEEKDAY_DAYS, recomputed every day at
# HISTORY_REFRESH_AT (HH:MM, site time) by the scheduler `run` starts.
HISTORY_DAYS = env_int("HISTORY_DAYS", 7, minimum=1, maximum=366)
HISTORY_WEEKDAY_DAYS = env_int("HISTORY_WEEKDAY_DAYS", 28, minimum=7, maximum=366)
HISTORY_REFRESH_AT = env_str("HISTORY_REFRESH_AT", "03:30")
if not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", HISTORY_REFRESH_AT):
    raise ImproperlyConfigured(
        f"HISTORY_REFRESH_AT must be a time as HH:MM, not {HISTORY_REFRESH_AT!r}"
    )
# Seconds an Athena history query may run before it is stopped.
HISTORY_QUERY_TIMEOUT = env_int("HISTORY_QUERY_TIMEOUT", 300, minimum=10, maximum=1800)
# Before each daily refresh, merge the data lake's per-image objects of
# finished days into one object per camera per hour: the query pays per
# object. A day is finished DATA_LAKE_COMPACT_AFTER_HOURS after its end
# (UTC), well past the count stage's last retry.
DATA_LAKE_COMPACTION = env_bool("DATA_LAKE_COMPACTION", True)
DATA_LAKE_COMPACT_AFTER_HOURS = env_int(
    "DATA_LAKE_COMPACT_AFTER_HOURS", 2, minimum=1, maximum=24 * 30
)

LOG_LEVEL = env_choice(
    "LOG_LEVEL", "INFO", ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        # The MQTT broker and its state machine narrate every packet.
        "amqtt": {"level": "WARNING"},
        "transitions": {"level": "WARNING"},
        # At DEBUG botocore logs whole responses, the private keys of new
        # camera certificates among them.
        "botocore": {"level": "INFO" if LOG_LEVEL == "DEBUG" else LOG_LEVEL},
    },
}

# Names of the AWS resources, used when OCCUPANCY_BACKEND is "aws" and by
# `manage.py provision_aws`. The region and credentials come from boto3's
# own variables (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, ...).
AWS_RESOURCE_PREFIX = env_str("AWS_RESOURCE_PREFIX", "occupancy")
IMAGE_CACHE_BUCKET = env_str("IMAGE_CACHE_BUCKET", f"{AWS_RESOURCE_PREFIX}-image-cache")
PROCESSED_IMAGES_BUCKET = env_str(
    "PROCESSED_IMAGES_BUCKET", f"{AWS_RESOURCE_PREFIX}-processed-images"
)
CONTROL_IMAGES_BUCKET = env_str(
    "CONTROL_IMAGES_BUCKET", f"{AWS_RESOURCE_PREFIX}-control-images"
)
DATA_LAKE_BUCKET = env_str("DATA_LAKE_BUCKET", f"{AWS_RESOURCE_PREFIX}-data-lake")
ZONE_SELECTIONS_TABLE = env_str(
    "ZONE_SELECTIONS_TABLE", f"{AWS_RESOURCE_PREFIX}-zone-selections"
)
CURRENT_COUNTS_TABLE = env_str(
    "CURRENT_COUNTS_TABLE", f"{AWS_RESOURCE_PREFIX}-current-counts"
)
HISTORICAL_DATA_TABLE = env_str(
    "HISTORICAL_DATA_TABLE", f"{AWS_RESOURCE_PREFIX}-historical-data"
)
ATHENA_DATABASE = env_str("ATHENA_DATABASE", "occupancy")
ATHENA_TABLE = env_str("ATHENA_TABLE", "occupancy")
ATHENA_WORKGROUP = env_str("ATHENA_WORKGROUP", AWS_RESOURCE_PREFIX)
# Where Athena writes query results, e.g. s3://my-athena-results/occupancy/
ATHENA_OUTPUT_LOCATION = env_url(
    "ATHENA_OUTPUT_LOCATION", f"s3://{AWS_RESOURCE_PREFIX}-athena-results/", ["s3"]
)
# AWS IoT Core: the policy every camera certificate gets, and the thing
# group enrolled cameras join.
IOT_POLICY_NAME = env_str("IOT_POLICY_NAME", f"{AWS_RESOURCE_PREFIX}-camera")
IOT_THING_GROUP = env_str("IOT_THING_GROUP", f"{AWS_RESOURCE_PREFIX}-cameras")

# How long control images are kept for drawing zones on.
CONTROL_IMAGE_RETENTION_DAYS = env_int(
    "CONTROL_IMAGE_RETENTION_DAYS", 7, minimum=1, maximum=365
)

if OCCUPANCY_BACKEND == "aws":
    STORAGES.update(
        {
            "image_cache": s3_store(IMAGE_CACHE_BUCKET),
            "processed_images": s3_store(PROCESSED_IMAGES_BUCKET),
            "control_images": s3_store(CONTROL_IMAGES_BUCKET),
            "data_lake": s3_store(DATA_LAKE_BUCKET),
        }
    )
    # API Gateway serves the site over HTTPS only.
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# MQTT: the broker the server publishes commands and configuration to.
# `make run` starts an embedded one on MQTT_BROKER_BIND unless MQTT_URL
# names another broker (e.g. mqtt://broker.example:1883 for Mosquitto).
MQTT_SCHEMES = ["mqtt", "mqtts"]
MQTT_URL = env_url("MQTT_URL", "", MQTT_SCHEMES)
MQTT_BROKER_BIND = env_address("MQTT_BROKER_BIND", "127.0.0.1:1883")
MQTT_EMBEDDED = not MQTT_URL
if MQTT_EMBEDDED:
    MQTT_URL = f"mqtt://{MQTT_BROKER_BIND}"
# Where cameras reach the broker, when that differs from MQTT_URL.
MQTT_PUBLIC_URL = env_url("MQTT_PUBLIC_URL", MQTT_URL, MQTT_SCHEMES)
