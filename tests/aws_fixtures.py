"""Fixtures that switch a test to the aws backend, on moto.

A test module imports the fixtures it uses from here. Each test gets fake
credentials, fresh moto state, its own boto3 clients, and settings that
point the four stores and three tables at moto.
"""

import base64
import io
import json

import pytest
from django.core.management import call_command
from moto import mock_aws
from moto.moto_api._internal.models import moto_api_backend
from moto.rekognition.responses import RekognitionResponse
from moto.server import ThreadedMotoServer

from occupancy_site import aws
from occupancy_site.aws import s3_store
from zones.selections import zone_selections

REGION = "eu-west-1"
NAMES = {
    "IMAGE_CACHE_BUCKET": "occ-test-image-cache",
    "PROCESSED_IMAGES_BUCKET": "occ-test-processed-images",
    "CONTROL_IMAGES_BUCKET": "occ-test-control-images",
    "DATA_LAKE_BUCKET": "occ-test-data-lake",
    "ZONE_SELECTIONS_TABLE": "occ-test-zone-selections",
    "CURRENT_COUNTS_TABLE": "occ-test-current-counts",
    "HISTORICAL_DATA_TABLE": "occ-test-historical-data",
    "ATHENA_DATABASE": "occ_test",
    "ATHENA_TABLE": "occupancy",
    "ATHENA_WORKGROUP": "occ-test",
    "ATHENA_OUTPUT_LOCATION": "s3://occ-test-athena-results/queries/",
}
STORE_BUCKETS = {
    "image_cache": "IMAGE_CACHE_BUCKET",
    "processed_images": "PROCESSED_IMAGES_BUCKET",
    "control_images": "CONTROL_IMAGES_BUCKET",
    "data_lake": "DATA_LAKE_BUCKET",
}


@pytest.fixture
def aws_credentials(monkeypatch):
    """Fake credentials and a region, and no client made before them."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    aws.forget_clients()
    yield
    aws.forget_clients()


def use_aws_settings(settings) -> None:
    settings.OCCUPANCY_BACKEND = "aws"
    settings.DETECTOR = "rekognition"
    for name, value in NAMES.items():
        setattr(settings, name, value)
    settings.STORAGES = {
        **settings.STORAGES,
        **{alias: s3_store(NAMES[name]) for alias, name in STORE_BUCKETS.items()},
    }
    zone_selections().forget()


@pytest.fixture
def on_aws(aws_credentials, settings):
    """The aws backend on moto in this process, nothing provisioned."""
    with mock_aws():
        use_aws_settings(settings)
        yield
    zone_selections().forget()


@pytest.fixture
def provisioned(on_aws):
    call_command("provision_aws", stdout=io.StringIO())


@pytest.fixture
def moto_server(aws_credentials, monkeypatch, settings):
    """The aws backend on moto's HTTP server, boto3 pointed at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    aws.forget_clients()
    use_aws_settings(settings)
    try:
        yield url
    finally:
        zone_selections().forget()
        server.stop()
        # The server keeps moto's state in this process: leave it clean.
        moto_api_backend.reset()


class FakeRekognition:
    """DetectLabels on moto, answering with the people a real model sees.

    moto's own DetectLabels answers one fixed label whatever the image.
    This one decodes the image it was sent, runs the local SSDLite model
    on it and answers in Rekognition's shape: a Person label with one
    instance per person, confidences in percent, boxes as fractions, the
    labels and instances below MinConfidence left out as Rekognition
    does. Every request is kept for the test to inspect.
    """

    def __init__(self) -> None:
        self.requests: list[dict] = []

    def answer(self, params: dict) -> dict:
        image = base64.b64decode(params["Image"]["Bytes"])
        self.requests.append({**params, "Image": {"Bytes": image}})
        floor = params.get("MinConfidence", 55)
        instances = [
            _instance(box)
            for box in local_detector().detect(image)
            if box.score * 100 >= floor
        ]
        return {
            "Labels": [_person_label(instances)] if instances else [],
            "LabelModelVersion": "3.0",
        }


def local_detector():
    from pipeline.detection.ssdlite import SSDLiteDetector

    if not _LOCAL:
        _LOCAL.append(SSDLiteDetector(score_threshold=0.25))
    return _LOCAL[0]


_LOCAL: list = []


def _instance(box) -> dict:
    return {
        "BoundingBox": {
            "Width": box.x2 - box.x1,
            "Height": box.y2 - box.y1,
            "Left": box.x1,
            "Top": box.y1,
        },
        "Confidence": box.score * 100,
    }


def _person_label(instances: list[dict]) -> dict:
    return {
        "Name": "Person",
        "Confidence": max(item["Confidence"] for item in instances),
        "Instances": instances,
        "Parents": [],
        "Aliases": [{"Name": "Human"}],
        "Categories": [{"Name": "Person Description"}],
    }


@pytest.fixture
def rekognition(monkeypatch, settings):
    """Rekognition that sees what the local model sees, in moto."""
    fake = FakeRekognition()

    def detect_labels(response) -> str:
        return json.dumps(fake.answer(json.loads(response.body)))

    monkeypatch.setattr(RekognitionResponse, "detect_labels", detect_labels)
    # The same floor as the local model, so both count the same people.
    settings.REKOGNITION_MIN_CONFIDENCE = 25.0
    return fake


class IotDataSpy:
    """What reached moto's IoT data plane, with the flags of each request.

    moto's iot-data backend keeps the topic and payload of each publish
    (published_payloads); the QoS and retain flag travel in the request's
    query string, which this spy reads from each request moto answers.
    """

    def __init__(self) -> None:
        self.flags: list[tuple[int, bool]] = []

    def record(self, querystring: dict) -> None:
        qos = int(querystring.get("qos", ["0"])[0])
        retain = querystring.get("retain", ["false"])[0] == "true"
        self.flags.append((qos, retain))

    def messages(self) -> list[tuple[str, dict, int, bool]]:
        """(topic, payload, qos, retain) of every message, in order."""
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.iotdata.models import iotdata_backends

        sent = iotdata_backends[DEFAULT_ACCOUNT_ID][REGION].published_payloads
        return [
            (topic, json.loads(payload), qos, retain)
            for (topic, payload), (qos, retain) in zip(sent, self.flags, strict=True)
        ]


@pytest.fixture
def iot_data(on_aws, monkeypatch):
    """IoT Core's data plane on moto, and a spy on what is published."""
    from moto.iotdata.responses import IoTDataPlaneResponse

    from devices import iot

    spy = IotDataSpy()
    publish = IoTDataPlaneResponse.publish

    def recording_publish(response) -> str:
        answer = publish(response)
        spy.record(response.querystring)
        return answer

    monkeypatch.setattr(IoTDataPlaneResponse, "publish", recording_publish)
    # An endpoint cached by an earlier test belongs to moto state now gone.
    iot.forget_endpoint()
    yield spy
    iot.forget_endpoint()


@pytest.fixture
def iot_provisioned(iot_data):
    """The camera policy and thing group, as provision_aws makes them."""
    call_command("provision_aws", stdout=io.StringIO())
    return iot_data
