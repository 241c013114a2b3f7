"""The AWS resources of the aws backend, created or brought up to date.

`manage.py provision_aws` builds a plan (one entry per bucket, table,
Glue object, Athena workgroup and IoT object) and makes each resource
match it. Each entry reads what exists first and changes only what
differs, so running the command again reports everything unchanged.
The Lambda functions, their roles and the S3 event wiring are Zappa's:
see zappa_settings.json.
"""

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from audit.dynamo import EXPIRES_ATTRIBUTE, audit_table_for
from devices.iot import camera_policy
from pipeline.datalake import PREFIX as DATA_LAKE_PREFIX

CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

# Snapshots and processed images are deleted by the pipeline within two
# minutes; a lifecycle rule (S3 counts in days) is the net behind it.
IMAGE_EXPIRY_DAYS = 1
# The retention handler deletes control images after the settings' number
# of days; the bucket's rule, a day later, is the net behind it.
CONTROL_IMAGE_EXPIRY_MARGIN_DAYS = 1
ATHENA_RESULTS_EXPIRY_DAYS = 7
# Athena stops a query that would scan more, a guard on the bill.
ATHENA_SCAN_LIMIT_BYTES = 10 * 1024**3

DATA_LAKE_COLUMNS = [
    ("camera_id", "string"),
    ("zone_id", "bigint"),
    ("zone_name", "string"),
    ("people", "int"),
    ("captured_at", "string"),
    ("image_id", "string"),
    ("detector", "string"),
]
NAME_SETTINGS = (
    "IMAGE_CACHE_BUCKET",
    "PROCESSED_IMAGES_BUCKET",
    "CONTROL_IMAGES_BUCKET",
    "DATA_LAKE_BUCKET",
    "ZONE_SELECTIONS_TABLE",
    "CURRENT_COUNTS_TABLE",
    "HISTORICAL_DATA_TABLE",
    "ATHENA_DATABASE",
    "ATHENA_TABLE",
    "ATHENA_WORKGROUP",
    "ATHENA_OUTPUT_LOCATION",
    "IOT_POLICY_NAME",
    "IOT_THING_GROUP",
)
# IoT Core keeps at most five versions of a policy.
IOT_POLICY_VERSIONS = 5


class ProvisionError(Exception):
    """A resource cannot be brought to the plan without a person's help."""


@dataclass(frozen=True)
class Names:
    image_cache_bucket: str
    processed_images_bucket: str
    control_images_bucket: str
    data_lake_bucket: str
    zone_selections_table: str
    current_counts_table: str
    historical_data_table: str
    athena_database: str
    athena_table: str
    athena_workgroup: str
    athena_output_location: str
    iot_policy_name: str
    iot_thing_group: str
    control_image_retention_days: int
    region: str | None = None
    # Zappa's bucket for packages and the stage's secrets (remote_env).
    deploy_bucket: str | None = None

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], region: str | None, deploy_bucket: str | None
    ) -> "Names":
        missing = [name for name in NAME_SETTINGS if not values.get(name)]
        if missing:
            raise ProvisionError(f"{', '.join(missing)} must be set")
        fields = {name.lower(): str(values[name]) for name in NAME_SETTINGS}
        if not fields["athena_output_location"].startswith("s3://"):
            raise ProvisionError("ATHENA_OUTPUT_LOCATION must start with s3://")
        return cls(
            **fields,
            control_image_retention_days=_retention_days(values),
            region=region,
            deploy_bucket=deploy_bucket,
        )

    @property
    def athena_results_bucket(self) -> str:
        return self.athena_output_location.removeprefix("s3://").split("/")[0]

    @property
    def image_audit_table(self) -> str:
        return audit_table_for(self.current_counts_table)


def _retention_days(values: Mapping[str, Any]) -> int:
    """CONTROL_IMAGE_RETENTION_DAYS as the deployment will read it.

    A stage that does not set it runs with the settings' default.
    """
    value = values.get("CONTROL_IMAGE_RETENTION_DAYS")
    if value in (None, ""):
        from django.conf import settings

        return int(settings.CONTROL_IMAGE_RETENTION_DAYS)
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    if days < 1:
        raise ProvisionError(
            f"CONTROL_IMAGE_RETENTION_DAYS must be a whole number of days, "
            f"not {value!r}"
        )
    return days


def names_from_settings(settings: Any) -> Names:
    values = {name: getattr(settings, name, "") for name in NAME_SETTINGS}
    values["CONTROL_IMAGE_RETENTION_DAYS"] = settings.CONTROL_IMAGE_RETENTION_DAYS
    return Names.from_mapping(values, region=None, deploy_bucket=None)


def names_from_stage(path: Path, stage: str) -> Names:
    """The names a Zappa stage deploys with, from its environment."""
    try:
        stages = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise ProvisionError(f"cannot read {path}: {error}")
    config = _stage_config(stages, stage)
    environment = config.get("environment_variables", {})
    return Names.from_mapping(
        environment,
        region=config.get("aws_region"),
        deploy_bucket=config.get("s3_bucket"),
    )


def _stage_config(stages: Any, stage: str) -> dict[str, Any]:
    # A stage may extend another; its own keys win, one level deep for
    # the environment so that a stage can add a variable.
    if not isinstance(stages, dict) or not isinstance(stages.get(stage), dict):
        raise ProvisionError(f"no stage {stage!r} in zappa_settings.json")
    config = dict(stages[stage])
    seen = {stage}
    while "extends" in config:
        parent_name = config.pop("extends")
        if parent_name in seen or not isinstance(stages.get(parent_name), dict):
            raise ProvisionError(f"stage {stage!r} extends a missing stage")
        seen.add(parent_name)
        parent = dict(stages[parent_name])
        environment = {
            **parent.get("environment_variables", {}),
            **config.get("environment_variables", {}),
        }
        config = {**parent, **config, "environment_variables": environment}
    return config


class Clients(Protocol):
    def __call__(self, service: str) -> Any: ...


class Resource(Protocol):
    def describe(self) -> str: ...

    def ensure(self, clients: Clients) -> str:
        """Make the resource match; return CREATED, UPDATED or UNCHANGED."""
        ...


def plan(names: Names) -> list[Resource]:
    images = IMAGE_EXPIRY_DAYS
    control = names.control_image_retention_days + CONTROL_IMAGE_EXPIRY_MARGIN_DAYS
    resources: list[Resource] = [
        Bucket(names.image_cache_bucket, expire_after_days=images),
        Bucket(names.processed_images_bucket, expire_after_days=images),
        Bucket(names.control_images_bucket, expire_after_days=control),
        Bucket(names.data_lake_bucket),
        Bucket(
            names.athena_results_bucket,
            expire_after_days=ATHENA_RESULTS_EXPIRY_DAYS,
        ),
        Table(names.zone_selections_table, partition=("camera_id", "S")),
        Table(names.current_counts_table, partition=("zone_id", "N")),
        Table(
            names.image_audit_table,
            partition=("image_id", "S"),
            sort=("moment", "S"),
            expires=EXPIRES_ATTRIBUTE,
        ),
        Table(
            names.historical_data_table,
            partition=("scope", "S"),
            sort=("slot", "S"),
        ),
        GlueDatabase(names.athena_database),
        GlueTable(names.athena_database, names.athena_table, names.data_lake_bucket),
        Workgroup(names.athena_workgroup, names.athena_output_location),
        ThingGroup(names.iot_thing_group),
        IotPolicy(names.iot_policy_name),
    ]
    if names.deploy_bucket:
        resources.insert(0, Bucket(names.deploy_bucket))
    return resources


def apply(
    resources: list[Resource], clients: Clients, report: Callable[[str, str], None]
) -> None:
    for resource in resources:
        report(resource.ensure(clients), resource.describe())


def _error_code(error: ClientError) -> str:
    return error.response.get("Error", {}).get("Code", "")


def _status(error: ClientError) -> int:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


@dataclass(frozen=True)
class Bucket:
    name: str
    expire_after_days: int | None = None

    def describe(self) -> str:
        parts = ["encrypted", "private"]
        if self.expire_after_days:
            parts.append(f"objects deleted after {self.expire_after_days} day(s)")
        return f"bucket {self.name} ({', '.join(parts)})"

    def ensure(self, clients: Clients) -> str:
        s3 = clients("s3")
        created = self._create_if_missing(s3)
        changes = [
            self._ensure_encryption(s3),
            self._ensure_private(s3),
            self._ensure_lifecycle(s3),
        ]
        if created:
            return CREATED
        return UPDATED if any(changes) else UNCHANGED

    def _create_if_missing(self, s3: Any) -> bool:
        try:
            s3.head_bucket(Bucket=self.name)
            return False
        except ClientError as error:
            if _status(error) == 403:
                raise ProvisionError(
                    f"bucket {self.name} belongs to another account: choose "
                    "another name"
                )
            if _status(error) != 404:
                raise
        arguments: dict[str, Any] = {"Bucket": self.name}
        region = s3.meta.region_name
        if region and region != "us-east-1":
            arguments["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            s3.create_bucket(**arguments)
        except ClientError as error:
            if _error_code(error) == "BucketAlreadyOwnedByYou":
                return False
            if _error_code(error) == "BucketAlreadyExists":
                raise ProvisionError(
                    f"bucket name {self.name} is taken: choose another name"
                )
            raise
        return True

    def _ensure_encryption(self, s3: Any) -> bool:
        wanted = {
            "Rules": [
                {
                    "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
                    "BucketKeyEnabled": True,
                }
            ]
        }
        try:
            current = s3.get_bucket_encryption(Bucket=self.name)
            rules = current["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as error:
            if _status(error) != 404:
                raise
            rules = []
        if [_encryption_rule(rule) for rule in rules] == [("AES256", True)]:
            return False
        s3.put_bucket_encryption(
            Bucket=self.name, ServerSideEncryptionConfiguration=wanted
        )
        return True

    def _ensure_private(self, s3: Any) -> bool:
        wanted = {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        }
        try:
            reply = s3.get_public_access_block(Bucket=self.name)
            current = reply["PublicAccessBlockConfiguration"]
        except ClientError as error:
            if _status(error) != 404:
                raise
            current = {}
        if current == wanted:
            return False
        s3.put_public_access_block(
            Bucket=self.name, PublicAccessBlockConfiguration=wanted
        )
        return True

    def _ensure_lifecycle(self, s3: Any) -> bool:
        wanted = self._lifecycle_rules()
        try:
            reply = s3.get_bucket_lifecycle_configuration(Bucket=self.name)
            current = [_lifecycle_rule(rule) for rule in reply.get("Rules", [])]
        except ClientError as error:
            if _status(error) != 404:
                raise
            current = []
        if current == [_lifecycle_rule(rule) for rule in wanted]:
            return False
        if not wanted:
            s3.delete_bucket_lifecycle(Bucket=self.name)
        else:
            s3.put_bucket_lifecycle_configuration(
                Bucket=self.name, LifecycleConfiguration={"Rules": wanted}
            )
        return True

    def _lifecycle_rules(self) -> list[dict[str, Any]]:
        if not self.expire_after_days:
            return []
        return [
            {
                "ID": "expire",
                "Status": "Enabled",
                "Filter": {"Prefix": ""},
                "Expiration": {"Days": self.expire_after_days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1},
            }
        ]


def _encryption_rule(rule: dict[str, Any]) -> tuple[str, bool]:
    default = rule.get("ApplyServerSideEncryptionByDefault", {})
    return default.get("SSEAlgorithm", ""), bool(rule.get("BucketKeyEnabled"))


def _lifecycle_rule(rule: dict[str, Any]) -> tuple[Any, ...]:
    # The parts that matter, in a form that compares equal whatever way
    # S3 spells an empty filter back.
    prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
    abort = rule.get("AbortIncompleteMultipartUpload", {})
    return (
        rule.get("ID"),
        rule.get("Status"),
        prefix or "",
        rule.get("Expiration", {}).get("Days"),
        abort.get("DaysAfterInitiation"),
    )


@dataclass(frozen=True)
class Table:
    name: str
    partition: tuple[str, str]
    sort: tuple[str, str] | None = None
    # The attribute holding each item's end of life, for DynamoDB's TTL.
    expires: str | None = None

    def describe(self) -> str:
        keys = f"partition key {self.partition[0]}"
        if self.sort:
            keys += f", sort key {self.sort[0]}"
        parts = [keys, "on demand"]
        if self.expires:
            parts.append(f"items deleted past their {self.expires} time")
        return f"table {self.name} ({', '.join(parts)})"

    def ensure(self, clients: Clients) -> str:
        dynamodb = clients("dynamodb")
        try:
            current = dynamodb.describe_table(TableName=self.name)["Table"]
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise
            self._create(dynamodb)
            self._ensure_expiry(dynamodb)
            return CREATED
        self._check_keys(current)
        return UPDATED if self._ensure_expiry(dynamodb) else UNCHANGED

    def _ensure_expiry(self, dynamodb: Any) -> bool:
        if not self.expires:
            return False
        reply = dynamodb.describe_time_to_live(TableName=self.name)
        current = reply.get("TimeToLiveDescription", {})
        status = current.get("TimeToLiveStatus", "DISABLED")
        attribute = current.get("AttributeName")
        if status in ("ENABLED", "ENABLING") and attribute == self.expires:
            return False
        if status != "DISABLED":
            # DynamoDB allows one TTL attribute, and a change only an hour
            # after the last one: a person must choose.
            raise ProvisionError(
                f"table {self.name} has TTL {status.lower()} on {attribute!r}, "
                f"not {self.expires!r}: disable it, wait for DynamoDB to "
                "finish, and run this again"
            )
        dynamodb.update_time_to_live(
            TableName=self.name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": self.expires},
        )
        return True

    def _keys(self) -> list[tuple[str, str, str]]:
        keys = [(self.partition[0], self.partition[1], "HASH")]
        if self.sort:
            keys.append((self.sort[0], self.sort[1], "RANGE"))
        return keys

    def _create(self, dynamodb: Any) -> None:
        keys = self._keys()
        dynamodb.create_table(
            TableName=self.name,
            KeySchema=[{"AttributeName": n, "KeyType": k} for n, _, k in keys],
            AttributeDefinitions=[
                {"AttributeName": n, "AttributeType": t} for n, t, _ in keys
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        dynamodb.get_waiter("table_exists").wait(
            TableName=self.name, WaiterConfig={"Delay": 2, "MaxAttempts": 60}
        )

    def _check_keys(self, current: dict[str, Any]) -> None:
        types = {
            item["AttributeName"]: item["AttributeType"]
            for item in current.get("AttributeDefinitions", [])
        }
        found = [
            (key["AttributeName"], types.get(key["AttributeName"]), key["KeyType"])
            for key in current.get("KeySchema", [])
        ]
        if sorted(found) != sorted(self._keys()):
            # Keys cannot change in place: only a new table would do.
            raise ProvisionError(
                f"table {self.name} exists with other keys ({found}); delete "
                "it or choose another name"
            )


@dataclass(frozen=True)
class GlueDatabase:
    name: str

    def describe(self) -> str:
        return f"Glue database {self.name}"

    def ensure(self, clients: Clients) -> str:
        glue = clients("glue")
        try:
            glue.get_database(Name=self.name)
            return UNCHANGED
        except ClientError as error:
            if _error_code(error) != "EntityNotFoundException":
                raise
        glue.create_database(
            DatabaseInput={
                "Name": self.name,
                "Description": "Occupancy counts, one line per zone per image",
            }
        )
        return CREATED


@dataclass(frozen=True)
class GlueTable:
    database: str
    name: str
    bucket: str

    def describe(self) -> str:
        return (
            f"Glue table {self.database}.{self.name} (JSON lines in "
            f"{self.location}, partitioned by date dt, projected)"
        )

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/{DATA_LAKE_PREFIX}/"

    def table_input(self) -> dict[str, Any]:
        return {
            "Name": self.name,
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {
                "EXTERNAL": "TRUE",
                "classification": "json",
                # Partition projection: Athena derives the dt partitions
                # from the query, so no partition is ever added or repaired.
                "projection.enabled": "true",
                "projection.dt.type": "date",
                "projection.dt.format": "yyyy-MM-dd",
                "projection.dt.range": "2024-01-01,NOW",
                "projection.dt.interval": "1",
                "projection.dt.interval.unit": "DAYS",
                "storage.location.template": self.location + "dt=${dt}/",
            },
            "PartitionKeys": [{"Name": "dt", "Type": "date"}],
            "StorageDescriptor": {
                "Columns": [{"Name": n, "Type": t} for n, t in DATA_LAKE_COLUMNS],
                "Location": self.location,
                "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
                "OutputFormat": (
                    "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat"
                ),
                "SerdeInfo": {
                    "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
                    # A malformed line is skipped, as DuckDB does locally,
                    # instead of failing the whole history query.
                    "Parameters": {
                        "paths": ",".join(n for n, _ in DATA_LAKE_COLUMNS),
                        "ignore.malformed.json": "true",
                    },
                },
            },
        }

    def ensure(self, clients: Clients) -> str:
        glue = clients("glue")
        wanted = self.table_input()
        try:
            current = glue.get_table(DatabaseName=self.database, Name=self.name)
        except ClientError as error:
            if _error_code(error) != "EntityNotFoundException":
                raise
            glue.create_table(DatabaseName=self.database, TableInput=wanted)
            return CREATED
        if _table_shape(current["Table"]) == _table_shape(wanted):
            return UNCHANGED
        glue.update_table(DatabaseName=self.database, TableInput=wanted)
        return UPDATED


def _table_shape(table: dict[str, Any]) -> tuple[Any, ...]:
    storage = table.get("StorageDescriptor", {})
    serde = storage.get("SerdeInfo", {})
    return (
        table.get("TableType"),
        table.get("Parameters", {}),
        [(k["Name"], k["Type"]) for k in table.get("PartitionKeys", [])],
        [(c["Name"], c["Type"]) for c in storage.get("Columns", [])],
        storage.get("Location"),
        storage.get("InputFormat"),
        storage.get("OutputFormat"),
        serde.get("SerializationLibrary"),
        serde.get("Parameters", {}),
    )


@dataclass(frozen=True)
class Workgroup:
    name: str
    output_location: str

    def describe(self) -> str:
        return (
            f"Athena workgroup {self.name} (results in {self.output_location}, "
            f"encrypted; queries stop past {ATHENA_SCAN_LIMIT_BYTES // 1024**3} GB)"
        )

    def configuration(self) -> dict[str, Any]:
        return {
            "ResultConfiguration": {
                "OutputLocation": self.output_location,
                "EncryptionConfiguration": {"EncryptionOption": "SSE_S3"},
            },
            "EnforceWorkGroupConfiguration": True,
            "PublishCloudWatchMetricsEnabled": True,
            "BytesScannedCutoffPerQuery": ATHENA_SCAN_LIMIT_BYTES,
        }

    def ensure(self, clients: Clients) -> str:
        athena = clients("athena")
        current = self._current(athena)
        wanted = self.configuration()
        if current is None:
            athena.create_work_group(
                Name=self.name,
                Description="Occupancy history queries",
                Configuration=wanted,
            )
            return CREATED
        if _workgroup_shape(current) == _workgroup_shape(wanted):
            return UNCHANGED
        athena.update_work_group(
            WorkGroup=self.name,
            ConfigurationUpdates={
                "ResultConfigurationUpdates": wanted["ResultConfiguration"],
                "EnforceWorkGroupConfiguration": True,
                "PublishCloudWatchMetricsEnabled": True,
                "BytesScannedCutoffPerQuery": ATHENA_SCAN_LIMIT_BYTES,
            },
            State="ENABLED",
        )
        return UPDATED

    def _current(self, athena: Any) -> dict[str, Any] | None:
        try:
            group = athena.get_work_group(WorkGroup=self.name).get("WorkGroup")
        except ClientError as error:
            # Athena answers a missing workgroup with a generic error.
            if _error_code(error) != "InvalidRequestException":
                raise
            return None
        if not group:
            return None
        return group.get("Configuration", {})


def _workgroup_shape(configuration: dict[str, Any]) -> tuple[Any, ...]:
    results = configuration.get("ResultConfiguration", {})
    encryption = results.get("EncryptionConfiguration", {})
    return (
        results.get("OutputLocation"),
        encryption.get("EncryptionOption"),
        bool(configuration.get("EnforceWorkGroupConfiguration")),
        bool(configuration.get("PublishCloudWatchMetricsEnabled")),
        configuration.get("BytesScannedCutoffPerQuery"),
    )


@dataclass(frozen=True)
class ThingGroup:
    name: str

    def describe(self) -> str:
        return f"IoT thing group {self.name} (the enrolled cameras)"

    def ensure(self, clients: Clients) -> str:
        iot = clients("iot")
        try:
            iot.describe_thing_group(thingGroupName=self.name)
            return UNCHANGED
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise
        iot.create_thing_group(
            thingGroupName=self.name,
            thingGroupProperties={"thingGroupDescription": "Occupancy cameras"},
        )
        return CREATED


@dataclass(frozen=True)
class IotPolicy:
    """The policy of every camera certificate; a change is a new version."""

    name: str

    def describe(self) -> str:
        return (
            f"IoT policy {self.name} (a camera connects as its own thing and "
            "receives its commands and the configuration; it publishes nothing)"
        )

    def ensure(self, clients: Clients) -> str:
        iot = clients("iot")
        account = clients("sts").get_caller_identity()["Account"]
        wanted = camera_policy(iot.meta.region_name, account)
        document = json.dumps(wanted)
        try:
            current = iot.get_policy(policyName=self.name)
        except ClientError as error:
            if _error_code(error) != "ResourceNotFoundException":
                raise
            iot.create_policy(policyName=self.name, policyDocument=document)
            return CREATED
        if json.loads(current["policyDocument"]) == wanted:
            return UNCHANGED
        self._make_room(iot)
        iot.create_policy_version(
            policyName=self.name, policyDocument=document, setAsDefault=True
        )
        return UPDATED

    def _make_room(self, iot: Any) -> None:
        # Only the default version is in force: the oldest of the others
        # makes room for the new one.
        versions = iot.list_policy_versions(policyName=self.name)["policyVersions"]
        if len(versions) < IOT_POLICY_VERSIONS:
            return
        spare = [v for v in versions if not v["isDefaultVersion"]]
        oldest = min(spare, key=lambda version: int(version["versionId"]))
        iot.delete_policy_version(
            policyName=self.name, policyVersionId=oldest["versionId"]
        )
