"""The liveness probe load balancers poll: GET /api/v1/health."""

from django.test import Client

URL = "/api/v1/health"


def test_it_answers_ok_as_json_without_touching_the_database():
    # No `db` fixture: any query would fail the test.
    response = Client().get(URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": "ok"}


def test_it_answers_anyone_even_when_readers_need_a_key(settings):
    settings.API_KEYS_REQUIRED = True

    response = Client().get(URL)

    assert response.status_code == 200


def test_it_is_never_throttled_like_the_read_api(settings):
    settings.READER_RATE = "1/min"
    client = Client()

    statuses = [client.get(URL).status_code for _ in range(5)]

    assert statuses == [200] * 5


def test_a_head_request_is_answered_for_probes_that_send_one():
    response = Client().head(URL)

    assert response.status_code == 200


def test_anything_but_a_read_is_refused_with_405():
    response = Client().post(URL, {"status": "down"})

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
