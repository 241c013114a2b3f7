"""Cameras as AWS IoT Core things, on the aws backend.

Each enrolled camera is a thing named by its camera id, in one thing
group, with one active certificate to which the camera policy is
attached. The policy is the same for every camera: IoT policy variables
narrow it to the thing that connects, so one camera can neither take
another's client id nor read another's commands.

The names come from the caller and the region from boto3's configuration:
this module reads no Django setting. Key material is handed back to the
caller and never logged.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from devices.messaging import BROADCAST_COMMANDS, CONFIG_TOPIC, PREFIX
from occupancy_site import aws

logger = logging.getLogger(__name__)

MQTT_PORT = 8883
ENDPOINT_TYPE = "iot:Data-ATS"
POLICY_VERSION = "2012-10-17"
THING_NAME = "${iot:Connection.Thing.ThingName}"
# The topics a camera may subscribe to and receive on, its own commands
# through the policy variable; never a wildcard.
CAMERA_TOPICS = (
    f"{PREFIX}/{THING_NAME}/commands",
    BROADCAST_COMMANDS,
    CONFIG_TOPIC,
)

# Added to the failures that mean a resource was never provisioned.
_PROVISION = " (manage.py provision_aws creates it)"

_endpoints: dict[str | None, str] = {}
_endpoints_lock = threading.Lock()


class IotUnavailable(Exception):
    """AWS IoT Core refused or could not be reached; nothing was issued."""


@dataclass(frozen=True)
class CameraCertificate:
    arn: str
    certificate_id: str
    certificate_pem: str
    private_key: str = field(repr=False)


def camera_policy(region: str, account: str) -> dict[str, Any]:
    """The policy document every camera certificate gets."""
    arn = f"arn:aws:iot:{region}:{account}"
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "iot:Connect",
                "Resource": f"{arn}:client/{THING_NAME}",
                # Only a certificate attached to the thing of that name.
                "Condition": {"Bool": {"iot:Connection.Thing.IsAttached": "true"}},
            },
            {
                "Effect": "Allow",
                "Action": "iot:Subscribe",
                "Resource": [f"{arn}:topicfilter/{t}" for t in CAMERA_TOPICS],
            },
            {
                "Effect": "Allow",
                "Action": "iot:Receive",
                "Resource": [f"{arn}:topic/{t}" for t in CAMERA_TOPICS],
            },
        ],
    }


def data_endpoint() -> str:
    """The account's ATS data endpoint, the host cameras connect to.

    It never changes for an account and region, so it is asked once per
    process.
    """
    iot = aws.client("iot")
    region = iot.meta.region_name
    with _endpoints_lock:
        if region in _endpoints:
            return _endpoints[region]
    with _reporting("find the IoT data endpoint"):
        reply = iot.describe_endpoint(endpointType=ENDPOINT_TYPE)
    with _endpoints_lock:
        return _endpoints.setdefault(region, reply["endpointAddress"])


def forget_endpoint() -> None:
    """Ask for the data endpoint again, e.g. after a change of account."""
    with _endpoints_lock:
        _endpoints.clear()


def issue_certificate(
    thing_name: str, policy_name: str, thing_group: str
) -> CameraCertificate:
    """Give the camera's thing a new certificate, retiring its old ones.

    The thing is created and put in its group when missing. The old
    certificates are detached and deactivated first, so that a camera
    never has two identities. Raises IotUnavailable.
    """
    iot = aws.client("iot")
    _ensure_thing(iot, thing_name, thing_group)
    for arn in _certificates_of(iot, thing_name):
        _retire(iot, thing_name, arn)

    with _reporting("create a certificate"):
        created = iot.create_keys_and_certificate(setAsActive=True)
    certificate = CameraCertificate(
        arn=created["certificateArn"],
        certificate_id=created["certificateId"],
        certificate_pem=created["certificatePem"],
        private_key=created["keyPair"]["PrivateKey"],
    )
    try:
        _attach(iot, thing_name, policy_name, certificate.arn)
    except IotUnavailable:
        _discard(iot, certificate)
        raise
    logger.info(
        "Issued certificate %s to IoT thing %s", certificate.certificate_id, thing_name
    )
    return certificate


def _ensure_thing(iot: Any, thing_name: str, thing_group: str) -> None:
    with _reporting(f"create the IoT thing {thing_name}"):
        try:
            iot.create_thing(thingName=thing_name)
        except iot.exceptions.ResourceAlreadyExistsException:
            # The same name with other attributes: it is there all the same.
            pass
    with _reporting(f"add the thing to the thing group {thing_group}{_PROVISION}"):
        iot.add_thing_to_thing_group(thingGroupName=thing_group, thingName=thing_name)


def _certificates_of(iot: Any, thing_name: str) -> list[str]:
    pages = iot.get_paginator("list_thing_principals").paginate(thingName=thing_name)
    with _reporting(f"list the certificates of the IoT thing {thing_name}"):
        principals = [arn for page in pages for arn in page.get("principals", [])]
    return [arn for arn in principals if ":cert/" in arn]


def _retire(iot: Any, thing_name: str, arn: str) -> None:
    certificate_id = arn.rsplit("/", 1)[-1]
    with _reporting(f"retire the old certificate {certificate_id}"):
        iot.detach_thing_principal(thingName=thing_name, principal=arn)
        iot.update_certificate(certificateId=certificate_id, newStatus="INACTIVE")
    logger.info("Retired certificate %s of IoT thing %s", certificate_id, thing_name)


def _attach(iot: Any, thing_name: str, policy_name: str, arn: str) -> None:
    with _reporting(f"attach the IoT policy {policy_name}{_PROVISION}"):
        iot.attach_policy(policyName=policy_name, target=arn)
    with _reporting(f"attach the certificate to the IoT thing {thing_name}"):
        iot.attach_thing_principal(thingName=thing_name, principal=arn)


def _discard(iot: Any, certificate: CameraCertificate) -> None:
    # A certificate nobody holds must not stay active. A failure here is
    # only logged: the caller reports the failure that led to it.
    try:
        iot.update_certificate(
            certificateId=certificate.certificate_id, newStatus="INACTIVE"
        )
        iot.delete_certificate(
            certificateId=certificate.certificate_id, forceDelete=True
        )
    except (BotoCoreError, ClientError) as error:
        logger.warning(
            "Cannot delete the unused certificate %s: %s",
            certificate.certificate_id,
            error,
        )


@contextmanager
def _reporting(action: str) -> Iterator[None]:
    """Turn AWS's failures into IotUnavailable naming what was being done."""
    try:
        yield
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "an error")
        raise IotUnavailable(f"AWS IoT Core refused to {action}: {code}") from error
    except BotoCoreError as error:
        raise IotUnavailable(
            f"AWS IoT Core cannot be reached to {action}: {error}"
        ) from error
