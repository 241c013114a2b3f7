import io
import struct
from datetime import UTC, datetime, timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tests.helpers import image_bytes, stored

URL = "/api/v1/uploads/"


def upload(client, data: bytes, name: str = "snap.jpg", **fields):
    image = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return client.post(URL, {"image": image, **fields}, format="multipart")


def jpeg_with_size(width: int, height: int) -> bytes:
    """A small real JPEG whose header claims width x height pixels."""
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "white").save(out, format="JPEG")
    data = bytearray(out.getvalue())
    marker = data.index(b"\xff\xc0")
    # SOF0: marker, length (2), precision (1), height (2), width (2)
    data[marker + 5 : marker + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_it_accepts_a_jpeg_and_queues_it(lobby, client_for):
    _, token = lobby
    data = image_bytes("vtest_000.jpg")

    with_time = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    captured = with_time.isoformat().replace("+00:00", "Z")
    response = upload(client_for(token), data, captured_at=captured)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["camera"] == "lobby"
    assert len(body["image_id"]) == 24
    [name] = stored("image_cache")
    assert name.startswith("lobby/") and body["image_id"] in name
    assert with_time.strftime("%Y%m%dT%H%M%S") in name


def test_it_stores_a_repeated_upload_once(lobby, client_for):
    _, token = lobby
    data = image_bytes("vtest_000.jpg")
    fields = {"captured_at": datetime.now(UTC).isoformat()}

    first = upload(client_for(token), data, **fields)
    second = upload(client_for(token), data, **fields)

    assert first.json()["image_id"] == second.json()["image_id"]
    assert len(stored("image_cache")) == 1


def test_it_refuses_a_text_file_named_jpg(lobby, client_for):
    response = upload(client_for(lobby[1]), b"hello, this is not a picture\n")

    assert response.status_code == 400
    assert "not a JPEG" in response.json()["detail"]
    assert stored("image_cache") == []


def test_it_refuses_a_truncated_jpeg(lobby, client_for):
    data = image_bytes("vtest_000.jpg")

    response = upload(client_for(lobby[1]), data[: len(data) // 2])

    assert response.status_code == 400
    assert "truncated" in response.json()["detail"]
    assert stored("image_cache") == []


def test_it_refuses_a_decompression_bomb(lobby, client_for):
    response = upload(client_for(lobby[1]), jpeg_with_size(60_000, 60_000))

    assert response.status_code == 400
    assert "too large" in response.json()["detail"]
    assert stored("image_cache") == []


def test_it_refuses_an_image_over_the_pixel_limit(lobby, client_for, settings):
    settings.MAX_IMAGE_PIXELS = 100_000
    response = upload(client_for(lobby[1]), image_bytes("vtest_000.jpg"))

    assert response.status_code == 400
    assert "768x576" in response.json()["detail"]
    assert stored("image_cache") == []


def test_it_refuses_an_empty_file(lobby, client_for):
    response = upload(client_for(lobby[1]), b"")

    assert response.status_code == 400
    assert "empty" in response.json()["detail"]
    assert stored("image_cache") == []


def test_it_refuses_a_png(lobby, client_for):
    response = upload(client_for(lobby[1]), image_bytes("coffee.png"), "c.png")

    assert response.status_code == 400
    assert stored("image_cache") == []


def test_it_refuses_a_file_over_the_size_limit(lobby, client_for, settings):
    settings.MAX_UPLOAD_BYTES = 10_000
    response = upload(client_for(lobby[1]), image_bytes("vtest_000.jpg"))

    assert response.status_code == 413
    assert stored("image_cache") == []


def test_it_refuses_a_missing_image_field(lobby, client_for):
    response = client_for(lobby[1]).post(URL, {}, format="multipart")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("image:")


def test_it_refuses_a_wrong_token(lobby, client_for):
    response = upload(client_for("not-a-token"), image_bytes("vtest_000.jpg"))

    assert response.status_code == 401
    assert stored("image_cache") == []


def test_it_refuses_a_request_without_a_token(lobby, client_for):
    response = upload(client_for(), image_bytes("vtest_000.jpg"))

    assert response.status_code == 401
    assert stored("image_cache") == []


def test_it_refuses_an_upload_for_another_camera(lobby, cafeteria, client_for):
    _, cafeteria_token = cafeteria

    response = upload(
        client_for(cafeteria_token), image_bytes("vtest_000.jpg"), camera="lobby"
    )

    assert response.status_code == 403
    assert "cafeteria" in response.json()["detail"]
    assert stored("image_cache") == []


def test_it_files_a_snapshot_under_the_token_s_camera(lobby, cafeteria, client_for):
    response = upload(client_for(cafeteria[1]), image_bytes("vtest_000.jpg"))

    assert response.status_code == 201
    assert stored("image_cache")[0].startswith("cafeteria/")


def test_it_refuses_a_capture_time_in_the_future(lobby, client_for):
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()

    response = upload(
        client_for(lobby[1]), image_bytes("vtest_000.jpg"), captured_at=later
    )

    assert response.status_code == 400
    assert "future" in response.json()["detail"]
    assert stored("image_cache") == []


def test_it_refuses_a_capture_time_without_a_time_zone(lobby, client_for):
    response = upload(
        client_for(lobby[1]),
        image_bytes("vtest_000.jpg"),
        captured_at="2026-12-03T14:05",
    )

    assert response.status_code == 400
    assert "time zone" in response.json()["detail"]


def test_it_refuses_a_capture_time_that_is_not_a_time(lobby, client_for):
    response = upload(
        client_for(lobby[1]), image_bytes("vtest_000.jpg"), captured_at="soon"
    )

    assert response.status_code == 400
    assert response.json()["detail"].startswith("captured_at:")


def test_it_refuses_a_field_given_twice(lobby, client_for):
    earlier = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    later = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()

    response = upload(
        client_for(lobby[1]),
        image_bytes("vtest_000.jpg"),
        captured_at=[earlier, later],
    )

    assert response.status_code == 400
    assert (
        response.json()["detail"] == "captured_at: Give this field once, not 2 times."
    )
    assert stored("image_cache") == []
