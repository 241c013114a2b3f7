"""Settings of the aws backend, read in a fresh process as Lambda reads them."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REPORT = """
import json
from django.conf import settings
print(json.dumps({
    "stores": {a: settings.STORAGES[a] for a in
               ("image_cache", "processed_images", "control_images", "data_lake")},
    "engine": settings.DATABASES["default"]["ENGINE"],
    "detector": settings.DETECTOR,
    "confidence": settings.REKOGNITION_MIN_CONFIDENCE,
    "data_dir": str(settings.DATA_DIR),
    "secure_cookies": settings.SESSION_COOKIE_SECURE and settings.CSRF_COOKIE_SECURE,
}, default=str))
"""
AWS = {
    "OCCUPANCY_BACKEND": "aws",
    "DJANGO_SECRET_KEY": "a secret from the environment",
    "DATABASE_URL": "postgres://occupancy:pw@db.example:5432/occupancy",
    "AWS_RESOURCE_PREFIX": "acme",
    "DATA_LAKE_BUCKET": "acme-lake-eu",
}


def read_settings(tmp_path, **variables: str) -> subprocess.CompletedProcess:
    keep = {"PATH", "HOME", "LANG"}
    env = {name: value for name, value in os.environ.items() if name in keep}
    env.update(
        DJANGO_SETTINGS_MODULE="occupancy_site.settings",
        TMPDIR=str(tmp_path),
        **variables,
    )
    return subprocess.run(
        [sys.executable, "-c", REPORT],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_aws_backend_puts_the_four_stores_in_encrypted_s3_buckets(tmp_path):
    done = read_settings(tmp_path, **AWS)

    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    buckets = {
        alias: store["OPTIONS"]["bucket_name"]
        for alias, store in read["stores"].items()
    }
    assert buckets == {
        "image_cache": "acme-image-cache",
        "processed_images": "acme-processed-images",
        "control_images": "acme-control-images",
        "data_lake": "acme-lake-eu",
    }
    for store in read["stores"].values():
        assert store["BACKEND"] == "storages.backends.s3.S3Storage"
        assert store["OPTIONS"]["object_parameters"] == {
            "ServerSideEncryption": "AES256"
        }
    assert read["engine"] == "django.db.backends.postgresql"
    assert read["detector"] == "rekognition" and read["confidence"] == 60.0
    assert read["data_dir"] == str(tmp_path / "occupancy")
    assert read["secure_cookies"] is True


def test_the_aws_backend_needs_a_postgresql_database(tmp_path):
    without = {name: value for name, value in AWS.items() if name != "DATABASE_URL"}

    missing = read_settings(tmp_path, **without)
    sqlite = read_settings(tmp_path, **{**AWS, "DATABASE_URL": "sqlite:///x.db"})

    for done in (missing, sqlite):
        assert done.returncode != 0
        assert "DATABASE_URL must name a PostgreSQL database" in done.stderr


def test_the_aws_backend_needs_a_secret_key(tmp_path):
    without = {
        name: value for name, value in AWS.items() if name != "DJANGO_SECRET_KEY"
    }

    done = read_settings(tmp_path, **without)

    assert done.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in done.stderr
    assert not (tmp_path / "occupancy" / "secret_key").exists()


def test_a_bad_confidence_stops_start_up(tmp_path):
    done = read_settings(tmp_path, **AWS, REKOGNITION_MIN_CONFIDENCE="150")

    assert done.returncode != 0
    assert "REKOGNITION_MIN_CONFIDENCE must be at most 100" in done.stderr


def test_the_local_backend_keeps_its_defaults(tmp_path):
    done = read_settings(tmp_path, OCCUPANCY_DATA_DIR=str(tmp_path / "var"))

    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout)
    assert read["detector"] == "ssdlite"
    assert read["engine"] == "django.db.backends.sqlite3"
    assert read["stores"]["image_cache"]["BACKEND"] == (
        "pipeline.storage.AtomicFileSystemStorage"
    )
    assert read["secure_cookies"] is False
