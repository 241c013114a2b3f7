"""The Rekognition detector: the request it sends, the people it reads
back, and its patience with throttling. Replies are stubbed at botocore
with the shape DetectLabels answers for a street scene."""

import io

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from PIL import Image

from pipeline import detectors
from pipeline.detection.base import Box, UnreadableImage
from pipeline.detection.rekognition import (
    MAX_IMAGE_BYTES,
    RekognitionDetector,
    fit_for_rekognition,
)
from tests.aws_fixtures import REGION, aws_credentials, on_aws  # noqa: F401
from tests.helpers import image_bytes

# What DetectLabels answers with the Person filter on a picture of three
# people walking, one of them far away and barely visible.
STREET = {
    "Labels": [
        {
            "Name": "Person",
            "Confidence": 99.52,
            "Instances": [
                {
                    "BoundingBox": {
                        "Width": 0.0871,
                        "Height": 0.4107,
                        "Left": 0.1203,
                        "Top": 0.3921,
                    },
                    "Confidence": 99.52,
                },
                {
                    "BoundingBox": {
                        "Width": 0.0652,
                        "Height": 0.3318,
                        "Left": 0.6104,
                        "Top": 0.4382,
                    },
                    "Confidence": 97.18,
                },
                {
                    # Cut by the right edge: the box reaches past it.
                    "BoundingBox": {
                        "Width": 0.0713,
                        "Height": 0.2841,
                        "Left": 0.9512,
                        "Top": 0.5017,
                    },
                    "Confidence": 88.4,
                },
                {
                    "BoundingBox": {
                        "Width": 0.0121,
                        "Height": 0.0436,
                        "Left": 0.4411,
                        "Top": 0.2203,
                    },
                    "Confidence": 51.07,
                },
            ],
            "Parents": [],
            "Aliases": [{"Name": "Human"}],
            "Categories": [{"Name": "Person Description"}],
        }
    ],
    "LabelModelVersion": "3.0",
}


def stubbed_detector(min_confidence: float = 60.0, **options):
    client = boto3.client(
        "rekognition",
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    pauses: list[float] = []
    detector = RekognitionDetector(
        client_factory=lambda: client,
        min_confidence=min_confidence,
        sleep=pauses.append,
        **options,
    )
    return detector, Stubber(client), pauses


def expected_request(image: bytes, min_confidence: float = 60.0) -> dict:
    return {
        "Image": {"Bytes": image},
        "MinConfidence": min_confidence,
        "Features": ["GENERAL_LABELS"],
        "Settings": {"GeneralLabels": {"LabelInclusionFilters": ["Person"]}},
    }


def test_it_asks_for_people_only_above_the_minimum_confidence():
    image = image_bytes("vtest_300.jpg")
    detector, stub, _ = stubbed_detector(min_confidence=72.5)
    stub.add_response("detect_labels", STREET, expected_request(image, 72.5))

    with stub:
        detector.detect(image)

        stub.assert_no_pending_responses()


def test_it_reads_each_person_instance_as_a_box_in_fractions():
    image = image_bytes("vtest_300.jpg")
    detector, stub, _ = stubbed_detector(min_confidence=60.0)
    stub.add_response("detect_labels", STREET, expected_request(image))

    with stub:
        boxes = detector.detect(image)

    assert [pytest.approx(box.__dict__) for box in boxes] == [
        Box(x1=0.1203, y1=0.3921, x2=0.2074, y2=0.8028, score=0.9952).__dict__,
        Box(x1=0.6104, y1=0.4382, x2=0.6756, y2=0.77, score=0.9718).__dict__,
        Box(x1=0.9512, y1=0.5017, x2=1.0, y2=0.7858, score=0.884).__dict__,
    ]


def test_a_reply_without_people_is_no_box():
    image = image_bytes("dog.jpg")
    detector, stub, _ = stubbed_detector()
    empty = {"Labels": [], "LabelModelVersion": "3.0"}
    stub.add_response("detect_labels", empty, expected_request(image))

    with stub:
        assert detector.detect(image) == []


def test_it_waits_longer_each_time_it_is_throttled_then_succeeds(monkeypatch):
    # The jitter at its highest shows the ceiling of each pause.
    monkeypatch.setattr(
        "pipeline.detection.rekognition.random.uniform", lambda low, high: high
    )
    image = image_bytes("vtest_300.jpg")
    detector, stub, pauses = stubbed_detector(base_delay=0.2, max_attempts=5)
    for code in ("ThrottlingException", "ProvisionedThroughputExceededException"):
        stub.add_client_error("detect_labels", service_error_code=code)
    stub.add_client_error(
        "detect_labels", service_error_code="InternalServerError", http_status_code=500
    )
    stub.add_response("detect_labels", STREET, expected_request(image))

    with stub:
        boxes = detector.detect(image)

        stub.assert_no_pending_responses()
    assert len(boxes) == 3
    assert pauses == pytest.approx([0.2, 0.4, 0.8])


def test_each_pause_is_drawn_between_nothing_and_its_ceiling(monkeypatch):
    drawn = []

    def uniform(low: float, high: float) -> float:
        drawn.append((low, high))
        return (low + high) / 2

    monkeypatch.setattr("pipeline.detection.rekognition.random.uniform", uniform)
    detector, stub, pauses = stubbed_detector(base_delay=0.5, max_attempts=3)
    for _ in range(2):
        stub.add_client_error("detect_labels", service_error_code="ThrottlingException")
    stub.add_response("detect_labels", STREET)

    with stub:
        detector.detect(image_bytes("vtest_300.jpg"))

    assert drawn == [(0, 0.5), (0, 1.0)]
    assert pauses == pytest.approx([0.25, 0.5])


def test_it_gives_up_after_the_last_attempt():
    detector, stub, pauses = stubbed_detector(max_attempts=3)
    for _ in range(3):
        stub.add_client_error("detect_labels", service_error_code="ThrottlingException")

    with stub, pytest.raises(ClientError, match="ThrottlingException"):
        detector.detect(image_bytes("vtest_300.jpg"))
    assert len(pauses) == 2


def test_it_does_not_retry_a_refusal():
    detector, stub, pauses = stubbed_detector()
    stub.add_client_error("detect_labels", service_error_code="AccessDeniedException")

    with stub, pytest.raises(ClientError, match="AccessDeniedException"):
        detector.detect(image_bytes("vtest_300.jpg"))
    assert pauses == []


def test_an_image_rekognition_cannot_read_is_unreadable():
    detector, stub, pauses = stubbed_detector()
    stub.add_client_error(
        "detect_labels", service_error_code="InvalidImageFormatException"
    )

    with stub, pytest.raises(UnreadableImage, match="InvalidImageFormatException"):
        detector.detect(b"\xff\xd8 not really a jpeg")
    assert pauses == []


def test_a_picture_over_five_megabytes_is_sent_smaller():
    noise = Image.effect_noise((3000, 2400), 120).convert("RGB")
    out = io.BytesIO()
    noise.save(out, format="JPEG", quality=100)
    large = out.getvalue()

    sent = fit_for_rekognition(large)

    assert len(large) > MAX_IMAGE_BYTES >= len(sent)
    with Image.open(io.BytesIO(sent)) as shrunk:
        assert max(shrunk.size) == 2048 and shrunk.format == "JPEG"
    small = image_bytes("vtest_300.jpg")
    assert fit_for_rekognition(small) is small


def test_the_aws_backend_counts_with_rekognition(on_aws, settings):  # noqa: F811
    settings.REKOGNITION_MIN_CONFIDENCE = 80.0

    detector = detectors.get_detector()

    assert isinstance(detector, RekognitionDetector)
    assert detector.min_confidence == 80.0
    settings.DETECTOR = "ssdlite"
    assert detectors.get_detector().name.startswith("ssdlite")
