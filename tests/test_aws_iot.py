"""Cameras on AWS IoT Core: enrollment, the camera policy and commands."""

import io
import json
import logging
from fnmatch import fnmatch
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_private_key,
)
from django.core.management import call_command
from moto.core import DEFAULT_ACCOUNT_ID
from moto.iot.models import iot_backends
from moto.iotdata.exceptions import InvalidRequestException
from moto.iotdata.models import IoTDataPlaneBackend
from rest_framework.test import APIClient

from devices.config import current_config
from devices.enrollment import create_enrollment_token
from devices.iot import camera_policy
from devices.messaging import BROADCAST_COMMANDS, CONFIG_TOPIC, AwsIotPublisher
from devices.models import Camera, CaptureRequest, EnrollmentToken
from occupancy_site import aws
from pi.state import parse_enrollment
from pipeline.provision import ThingGroup
from tests.aws_fixtures import (  # noqa: F401
    REGION,
    aws_credentials,
    iot_data,
    iot_provisioned,
    on_aws,
)

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
REGISTER = "/api/v1/devices/register"
SERIAL = "00000000a1b2c3d4"
CAMERA = "cam-00000000a1b2c3d4"
THING = "${iot:Connection.Thing.ThingName}"
CONFIG = {
    "sampling_interval": 30,
    "opening_hours": [["07:00", "22:00"]],
    "time_zone": "Europe/London",
    "jpeg_quality": 80,
}


def register(token: str, serial: str = SERIAL):
    body = {"token": token, "serial": serial, "agent_version": "1.0.0"}
    return APIClient().post(REGISTER, body, format="json")


def iot():
    return aws.client("iot")


def certificate(arn: str) -> dict:
    certificate_id = arn.rsplit("/", 1)[-1]
    return iot().describe_certificate(certificateId=certificate_id)[
        "certificateDescription"
    ]


def default_policy(settings) -> dict:
    policy = iot().get_policy(policyName=settings.IOT_POLICY_NAME)
    return json.loads(policy["policyDocument"])


def provision(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("provision_aws", *args, stdout=out)
    return out.getvalue().splitlines()


def iot_lines(lines: list[str]) -> list[str]:
    return [line.split(None, 1)[0] for line in lines if " IoT " in line]


@pytest.fixture
def staff_api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_a_camera_registering_on_aws_gets_a_thing_and_a_certificate(
    iot_provisioned,  # noqa: F811
    settings,
):
    _, token = create_enrollment_token()

    response = register(token)

    assert response.status_code == 201, response.json()
    mqtt = response.json()["mqtt"]
    [arn] = iot().list_thing_principals(thingName=CAMERA)["principals"]
    stored = certificate(arn)
    assert stored["status"] == "ACTIVE"
    assert stored["certificatePem"] == mqtt["certificate_pem"]
    attached = iot().list_attached_policies(target=arn)["policies"]
    assert [policy["policyName"] for policy in attached] == [settings.IOT_POLICY_NAME]
    groups = iot().list_thing_groups_for_thing(thingName=CAMERA)["thingGroups"]
    assert [group["groupName"] for group in groups] == [settings.IOT_THING_GROUP]
    assert Camera.objects.get(pk=CAMERA).serial == SERIAL


def test_the_answer_holds_the_endpoint_and_a_key_that_matches_the_certificate(
    iot_provisioned,  # noqa: F811
):
    _, token = create_enrollment_token()

    mqtt = register(token).json()["mqtt"]

    backend = iot_backends[DEFAULT_ACCOUNT_ID][REGION]
    assert mqtt["host"] == backend.endpoint.endpoint
    assert mqtt["host"].endswith(f"-ats.iot.{REGION}.amazonaws.com")
    assert (mqtt["port"], mqtt["tls"], mqtt["client_id"]) == (8883, True, CAMERA)
    assert "ca_pem" not in mqtt
    assert mqtt["topics"] == {
        "commands": f"occupancy/cameras/{CAMERA}/commands",
        "broadcast": BROADCAST_COMMANDS,
        "config": CONFIG_TOPIC,
    }
    cert = x509.load_pem_x509_certificate(mqtt["certificate_pem"].encode())
    key = load_pem_private_key(mqtt["private_key"].encode(), password=None)
    public = (Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    assert cert.public_key().public_bytes(*public) == (
        key.public_key().public_bytes(*public)
    )


def test_the_camera_agent_accepts_the_answer(iot_provisioned):  # noqa: F811
    _, token = create_enrollment_token()

    identity = parse_enrollment(register(token).json())

    assert identity.camera_id == CAMERA
    assert identity.mqtt.tls and identity.mqtt.ca_pem is None
    assert "PRIVATE KEY" in identity.mqtt.private_key
    assert identity.mqtt.commands_topic == f"occupancy/cameras/{CAMERA}/commands"


def test_the_data_endpoint_is_asked_once(iot_provisioned, monkeypatch):  # noqa: F811
    _, token = create_enrollment_token(uses=2)
    first = register(token, "one").json()["mqtt"]["host"]
    asked = []
    monkeypatch.setattr(
        type(iot_backends[DEFAULT_ACCOUNT_ID][REGION]),
        "describe_endpoint",
        lambda backend, endpoint_type: asked.append(endpoint_type),
    )

    second = register(token, "two").json()["mqtt"]["host"]

    assert second == first and asked == []


def test_no_key_material_reaches_the_log(iot_provisioned, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    _, token = create_enrollment_token()

    mqtt = register(token).json()["mqtt"]

    assert f"to IoT thing {CAMERA}" in caplog.text
    assert "PRIVATE KEY" not in caplog.text
    body = mqtt["private_key"].splitlines()[1]
    assert body not in caplog.text


def test_the_camera_policy_allows_only_its_own_client_id_and_topics(
    iot_provisioned,  # noqa: F811
    settings,
):
    _, token = create_enrollment_token()
    topics = register(token).json()["mqtt"]["topics"]

    policy = default_policy(settings)

    [connect, subscribe, receive] = policy["Statement"]
    arn = f"arn:aws:iot:{REGION}:{DEFAULT_ACCOUNT_ID}"
    assert connect["Action"] == "iot:Connect"
    assert connect["Resource"] == f"{arn}:client/{THING}"
    assert connect["Condition"] == {"Bool": {"iot:Connection.Thing.IsAttached": "true"}}
    filters = [
        f"occupancy/cameras/{THING}/commands",
        "occupancy/cameras/all/commands",
        "occupancy/cameras/all/config",
    ]
    assert subscribe["Action"] == "iot:Subscribe"
    assert subscribe["Resource"] == [f"{arn}:topicfilter/{f}" for f in filters]
    assert receive["Action"] == "iot:Receive"
    assert receive["Resource"] == [f"{arn}:topic/{f}" for f in filters]
    # With the camera's name for the variable: exactly the topics it got.
    received = {
        r.split(":topic/")[1].replace(THING, CAMERA) for r in receive["Resource"]
    }
    assert received == set(topics.values())


def test_the_camera_policy_grants_no_publish_and_no_wildcard(
    iot_provisioned,  # noqa: F811
    settings,
):
    policy = default_policy(settings)

    actions = [statement["Action"] for statement in policy["Statement"]]
    assert sorted(actions) == ["iot:Connect", "iot:Receive", "iot:Subscribe"]
    assert all(statement["Effect"] == "Allow" for statement in policy["Statement"])
    resources = json.dumps([s["Resource"] for s in policy["Statement"]])
    assert not {"*", "#", "+"} & set(resources)
    assert "Publish" not in json.dumps(policy)


def test_enrolling_again_swaps_the_certificate(iot_provisioned):  # noqa: F811
    _, token = create_enrollment_token(uses=2)
    first = register(token).json()
    [old] = iot().list_thing_principals(thingName=CAMERA)["principals"]

    second = register(token).json()

    assert second["camera_id"] == first["camera_id"] == CAMERA
    assert second["mqtt"]["certificate_pem"] != first["mqtt"]["certificate_pem"]
    [new] = iot().list_thing_principals(thingName=CAMERA)["principals"]
    assert new != old
    assert certificate(old)["status"] == "INACTIVE"
    assert certificate(new)["status"] == "ACTIVE"
    assert certificate(new)["certificatePem"] == second["mqtt"]["certificate_pem"]
    assert Camera.objects.count() == 1


def test_without_the_policy_enrollment_is_a_503_that_keeps_nothing(
    iot_data,  # noqa: F811
    settings,
):
    ThingGroup(settings.IOT_THING_GROUP).ensure(aws.client)
    record, token = create_enrollment_token()

    response = register(token)

    assert response.status_code == 503
    assert "try again later" in response.json()["detail"]
    assert not Camera.objects.exists()
    assert EnrollmentToken.objects.get(pk=record.pk).uses_left == 1
    # The certificate made before the policy was found missing is gone.
    assert iot().list_certificates()["certificates"] == []
    assert iot().list_thing_principals(thingName=CAMERA)["principals"] == []


def test_without_provisioning_enrollment_is_a_503(iot_data):  # noqa: F811
    _, token = create_enrollment_token()

    response = register(token)

    assert response.status_code == 503
    assert set(response.json()) == {"detail"}
    assert not Camera.objects.exists()


def test_staff_ask_one_camera_for_a_control_image_through_iot_core(
    iot_provisioned,  # noqa: F811
    iot_data,  # noqa: F811
    lobby,
    staff_api,
):
    response = staff_api.post(
        "/api/v1/cameras/capture", {"cameras": ["lobby"]}, format="json"
    )

    assert response.status_code == 200, response.json()
    [(topic, payload, qos, retain)] = iot_data.messages()
    assert topic == "occupancy/cameras/lobby/commands"
    assert (qos, retain) == (1, False)
    assert payload["command"] == "capture_control_image"
    assert response.json()["sent"]["payload"] == payload
    request = CaptureRequest.objects.get()
    assert request.camera_id == "lobby" and request.command_id == payload["command_id"]


def test_staff_ask_every_camera_on_the_broadcast_topic(
    iot_provisioned,  # noqa: F811
    iot_data,  # noqa: F811
    lobby,
    cafeteria,
    staff_api,
):
    response = staff_api.post("/api/v1/cameras/capture", {}, format="json")

    assert response.status_code == 200
    assert [(t, q, r) for t, _, q, r in iot_data.messages()] == [
        (BROADCAST_COMMANDS, 1, False)
    ]
    assert CaptureRequest.objects.count() == 2


def test_a_new_configuration_is_published_retained(
    iot_provisioned,  # noqa: F811
    iot_data,  # noqa: F811
    lobby,
    staff_api,
):
    before = current_config().version

    response = staff_api.put("/api/v1/cameras/config", CONFIG, format="json")

    assert response.status_code == 200, response.json()
    [(topic, payload, qos, retain)] = iot_data.messages()
    assert topic == CONFIG_TOPIC and (qos, retain) == (1, True)
    assert payload == {**CONFIG, "version": before + 1}
    assert current_config().version == before + 1
    assert Camera.objects.get(pk="lobby").sampling_interval == 30


def test_a_refused_publish_gives_staff_a_503(
    iot_provisioned,  # noqa: F811
    iot_data,  # noqa: F811
    lobby,
    staff_api,
    monkeypatch,
):
    def refuse(backend, topic, payload):
        raise InvalidRequestException("Topic is not allowed")

    monkeypatch.setattr(IoTDataPlaneBackend, "publish", refuse)

    response = staff_api.post(
        "/api/v1/cameras/capture", {"cameras": ["lobby"]}, format="json"
    )

    assert response.status_code == 503
    assert response.json() == {
        "detail": "AWS IoT Core refused the message to "
        "occupancy/cameras/lobby/commands: InvalidRequestException"
    }
    assert not CaptureRequest.objects.exists()


def test_an_unreachable_iot_core_keeps_the_configuration(
    iot_provisioned,  # noqa: F811
    iot_data,  # noqa: F811
    lobby,
    staff_api,
    monkeypatch,
):
    monkeypatch.setenv("AWS_ENDPOINT_URL_IOT_DATA_PLANE", "http://127.0.0.1:9")
    aws.forget_clients()
    before = current_config().version

    response = staff_api.put("/api/v1/cameras/config", CONFIG, format="json")

    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "AWS IoT Core cannot be reached" in detail
    assert "next heartbeat" in detail
    assert current_config().version == before + 1
    assert iot_data.messages() == []


def test_provisioning_creates_the_policy_and_the_thing_group_once(
    iot_data,  # noqa: F811
    settings,
):
    first = provision()

    again = provision()

    assert iot_lines(first) == ["created", "created"]
    assert iot_lines(again) == ["unchanged", "unchanged"]
    group = iot().describe_thing_group(thingGroupName=settings.IOT_THING_GROUP)
    assert group["thingGroupName"] == settings.IOT_THING_GROUP
    assert default_policy(settings) == camera_policy(REGION, DEFAULT_ACCOUNT_ID)
    versions = iot().list_policy_versions(policyName=settings.IOT_POLICY_NAME)
    assert [v["versionId"] for v in versions["policyVersions"]] == ["1"]


def test_a_changed_policy_gets_a_new_default_version(iot_data, settings):  # noqa: F811
    name = settings.IOT_POLICY_NAME
    loose = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "iot:*", "Resource": "*"}],
    }
    iot().create_policy(policyName=name, policyDocument=json.dumps(loose))
    for _ in range(4):
        iot().create_policy_version(
            policyName=name, policyDocument=json.dumps(loose), setAsDefault=True
        )

    lines = provision()

    assert iot_lines(lines) == ["created", "updated"]
    assert default_policy(settings) == camera_policy(REGION, DEFAULT_ACCOUNT_ID)
    # IoT keeps five versions: the oldest made room for the new default.
    versions = iot().list_policy_versions(policyName=name)["policyVersions"]
    assert sorted(v["versionId"] for v in versions) == ["2", "3", "4", "5", "6"]
    assert iot_lines(provision()) == ["unchanged", "unchanged"]


def test_a_dry_run_names_the_policy_and_the_thing_group(
    iot_data,  # noqa: F811
    settings,
):
    lines = provision("--dry-run")

    assert any(f"IoT policy {settings.IOT_POLICY_NAME} " in line for line in lines)
    assert any(f"IoT thing group {settings.IOT_THING_GROUP} " in line for line in lines)
    assert iot().list_thing_groups()["thingGroups"] == []
    assert iot().list_policies()["policies"] == []


def allowed(statements: list[dict], action: str, resource: str | None) -> bool:
    for statement in statements:
        actions = statement["Action"]
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if action not in actions:
            continue
        if resource is None or any(fnmatch(resource, r) for r in resources):
            return True
    return False


def test_the_deployed_stage_may_do_what_enrollment_and_commands_do(
    iot_provisioned,  # noqa: F811
    lobby,
    staff_api,
):
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    dev = stages["dev"]
    environment = dev["environment_variables"]
    called: list[tuple[str, dict]] = []

    def record(params, model, **kwargs):
        called.append((f"iot:{model.name}", params))

    clients = (
        aws.client("iot"),
        aws.client("iot-data", max_attempts=AwsIotPublisher.ATTEMPTS),
    )
    for client in clients:
        client.meta.events.register("before-parameter-build", record)
    _, token = create_enrollment_token(uses=2)
    assert register(token).status_code == register(token).status_code == 201
    capture = {"cameras": ["lobby"]}
    capture = staff_api.post("/api/v1/cameras/capture", capture, format="json")
    config = staff_api.put("/api/v1/cameras/config", CONFIG, format="json")
    assert capture.status_code == config.status_code == 200

    statements = dev["extra_permissions"]
    thing = f"arn:aws:iot:{dev['aws_region']}:1:thing/{CAMERA}"
    for action, params in called:
        resource = thing if "thingName" in params else None
        assert allowed(statements, action, resource), action
    for topic in (f"occupancy/cameras/{CAMERA}/commands", CONFIG_TOPIC):
        arn = f"arn:aws:iot:{dev['aws_region']}:1:topic/{topic}"
        assert allowed(statements, "iot:Publish", arn)
        assert allowed(statements, "iot:RetainPublish", arn)
    names = json.dumps(statements)
    assert f":thinggroup/{environment['IOT_THING_GROUP']}" in names
    assert f":policy/{environment['IOT_POLICY_NAME']}" in names
    assert {"iot:CreateKeysAndCertificate", "iot:Publish"} <= {a for a, _ in called}
