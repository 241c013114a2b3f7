"""`manage.py provision_aws` on moto: every resource, idempotently."""

import io
import json
from pathlib import Path

import pytest
from botocore.stub import Stubber
from django.core.management import call_command
from django.core.management.base import CommandError

from occupancy_site import aws
from pipeline.provision import (
    ATHENA_SCAN_LIMIT_BYTES,
    Bucket,
    ProvisionError,
    Table,
    Workgroup,
    names_from_stage,
)
from tests.aws_fixtures import NAMES, REGION, aws_credentials, on_aws  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
BUCKETS = [
    NAMES["IMAGE_CACHE_BUCKET"],
    NAMES["PROCESSED_IMAGES_BUCKET"],
    NAMES["CONTROL_IMAGES_BUCKET"],
    NAMES["DATA_LAKE_BUCKET"],
    "occ-test-athena-results",
]
TABLES = ("ZONE_SELECTIONS_TABLE", "CURRENT_COUNTS_TABLE", "HISTORICAL_DATA_TABLE")


def provision(*args: str) -> list[str]:
    out = io.StringIO()
    call_command("provision_aws", *args, stdout=out)
    return out.getvalue().splitlines()


def outcomes(lines: list[str]) -> list[str]:
    return [line.split()[0] for line in lines if line.startswith("  ")]


def test_it_creates_every_resource_and_says_so(on_aws):  # noqa: F811
    lines = provision()

    assert outcomes(lines) == ["created"] * 14
    s3 = aws.client("s3")
    listed = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
    assert listed == set(BUCKETS)
    tables = aws.client("dynamodb").list_tables()["TableNames"]
    audit = NAMES["CURRENT_COUNTS_TABLE"] + "-audit"
    assert sorted(tables) == sorted([audit, *(NAMES[name] for name in TABLES)])


def test_every_bucket_is_encrypted_and_private(on_aws):  # noqa: F811
    provision()

    s3 = aws.client("s3")
    for bucket in BUCKETS:
        encryption = s3.get_bucket_encryption(Bucket=bucket)
        [rule] = encryption["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
        block = s3.get_public_access_block(Bucket=bucket)
        assert all(block["PublicAccessBlockConfiguration"].values())


def test_the_image_buckets_expire_objects_as_a_safety_net(on_aws):  # noqa: F811
    provision()

    s3 = aws.client("s3")
    for bucket in (NAMES["IMAGE_CACHE_BUCKET"], NAMES["PROCESSED_IMAGES_BUCKET"]):
        [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert rule["Status"] == "Enabled" and rule["Expiration"] == {"Days": 1}
    with pytest.raises(s3.exceptions.ClientError):
        s3.get_bucket_lifecycle_configuration(Bucket=NAMES["DATA_LAKE_BUCKET"])


def test_the_control_images_expire_a_day_after_their_retention(on_aws, settings):  # noqa: F811
    settings.CONTROL_IMAGE_RETENTION_DAYS = 5

    provision()

    s3 = aws.client("s3")
    bucket = NAMES["CONTROL_IMAGES_BUCKET"]
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Status"] == "Enabled" and rule["Expiration"] == {"Days": 6}
    settings.CONTROL_IMAGE_RETENTION_DAYS = 9
    lines = provision()
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["Expiration"] == {"Days": 10}
    assert [line.split()[0] for line in lines if f"bucket {bucket} " in line] == [
        "updated"
    ]


def test_a_stage_sets_the_control_image_retention_of_its_deployment(tmp_path):
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    environment = stages["dev"]["environment_variables"]
    environment["CONTROL_IMAGE_RETENTION_DAYS"] = "30"
    path = tmp_path / "zappa_settings.json"
    path.write_text(json.dumps(stages))

    names = names_from_stage(path, "dev_pipeline")

    assert names.control_image_retention_days == 30
    environment["CONTROL_IMAGE_RETENTION_DAYS"] = "a month"
    path.write_text(json.dumps(stages))
    with pytest.raises(ProvisionError, match="CONTROL_IMAGE_RETENTION_DAYS"):
        names_from_stage(path, "dev_pipeline")


def test_the_audit_table_lets_dynamodb_delete_items_past_their_expiry(on_aws):  # noqa: F811
    provision()

    table = NAMES["CURRENT_COUNTS_TABLE"] + "-audit"
    dynamodb = aws.client("dynamodb")
    ttl = dynamodb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}
    for other in TABLES:
        reply = dynamodb.describe_time_to_live(TableName=NAMES[other])
        assert reply["TimeToLiveDescription"]["TimeToLiveStatus"] == "DISABLED"


def test_it_turns_on_the_audit_expiry_of_a_table_made_without_it(on_aws):  # noqa: F811
    table = NAMES["CURRENT_COUNTS_TABLE"] + "-audit"
    Table(table, partition=("image_id", "S"), sort=("moment", "S")).ensure(aws.client)

    lines = provision()

    [line] = [line for line in lines if f"table {table} " in line]
    assert line.split()[0] == "updated"
    assert "deleted past their expires time" in line
    ttl = aws.client("dynamodb").describe_time_to_live(TableName=table)
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "expires"
    assert outcomes(provision()) == ["unchanged"] * 14


def test_an_expiry_on_another_attribute_stops_it_with_a_message(on_aws):  # noqa: F811
    table = NAMES["CURRENT_COUNTS_TABLE"] + "-audit"
    Table(table, partition=("image_id", "S"), sort=("moment", "S")).ensure(aws.client)
    aws.client("dynamodb").update_time_to_live(
        TableName=table,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": "gone"},
    )

    with pytest.raises(CommandError, match="TTL enabled on 'gone'"):
        provision()


def key_schema(table: dict) -> list[tuple[str, str, str]]:
    types = {
        a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]
    }
    return [
        (key["AttributeName"], types[key["AttributeName"]], key["KeyType"])
        for key in table["KeySchema"]
    ]


def test_the_tables_have_the_agreed_keys(on_aws):  # noqa: F811
    provision()

    dynamodb = aws.client("dynamodb")
    tables = {
        name: dynamodb.describe_table(TableName=NAMES[name])["Table"] for name in TABLES
    }

    assert {name: key_schema(table) for name, table in tables.items()} == {
        "ZONE_SELECTIONS_TABLE": [("camera_id", "S", "HASH")],
        "CURRENT_COUNTS_TABLE": [("zone_id", "N", "HASH")],
        "HISTORICAL_DATA_TABLE": [("scope", "S", "HASH"), ("slot", "S", "RANGE")],
    }
    for table in tables.values():
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"


def test_the_glue_table_reads_the_data_lake_by_date(on_aws):  # noqa: F811
    provision()

    glue = aws.client("glue")
    table = glue.get_table(DatabaseName="occ_test", Name="occupancy")["Table"]
    storage = table["StorageDescriptor"]
    assert [(c["Name"], c["Type"]) for c in storage["Columns"]] == [
        ("camera_id", "string"),
        ("zone_id", "bigint"),
        ("zone_name", "string"),
        ("people", "int"),
        ("captured_at", "string"),
        ("image_id", "string"),
        ("detector", "string"),
    ]
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "date"}]
    assert storage["Location"] == "s3://occ-test-data-lake/occupancy/"
    assert storage["SerdeInfo"]["SerializationLibrary"] == (
        "org.openx.data.jsonserde.JsonSerDe"
    )
    parameters = table["Parameters"]
    assert parameters["projection.enabled"] == "true"
    assert parameters["projection.dt.type"] == "date"
    assert parameters["projection.dt.format"] == "yyyy-MM-dd"
    assert parameters["projection.dt.range"] == "2024-01-01,NOW"
    assert parameters["storage.location.template"] == (
        "s3://occ-test-data-lake/occupancy/dt=${dt}/"
    )


def test_the_workgroup_keeps_results_where_the_settings_say(on_aws):  # noqa: F811
    provision()

    group = aws.client("athena").get_work_group(WorkGroup="occ-test")["WorkGroup"]
    configuration = group["Configuration"]
    assert configuration["ResultConfiguration"]["OutputLocation"] == (
        "s3://occ-test-athena-results/queries/"
    )
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == ATHENA_SCAN_LIMIT_BYTES


def test_running_it_again_changes_nothing(on_aws):  # noqa: F811
    provision()

    again = provision()

    assert outcomes(again) == ["unchanged"] * 14


def test_it_repairs_what_drifted(on_aws):  # noqa: F811
    provision()
    s3 = aws.client("s3")
    s3.delete_bucket_lifecycle(Bucket=NAMES["IMAGE_CACHE_BUCKET"])
    s3.delete_public_access_block(Bucket=NAMES["DATA_LAKE_BUCKET"])
    glue = aws.client("glue")
    table = glue.get_table(DatabaseName="occ_test", Name="occupancy")["Table"]
    glue.update_table(
        DatabaseName="occ_test",
        TableInput={
            "Name": "occupancy",
            "StorageDescriptor": {**table["StorageDescriptor"], "Columns": []},
            "PartitionKeys": table["PartitionKeys"],
            "Parameters": table["Parameters"],
            "TableType": table["TableType"],
        },
    )

    lines = provision()

    updated = [line for line in lines if line.startswith("  updated ")]
    assert len(updated) == 3
    assert f"bucket {NAMES['IMAGE_CACHE_BUCKET']} " in updated[0]
    assert f"bucket {NAMES['DATA_LAKE_BUCKET']} " in updated[1]
    assert "Glue table occ_test.occupancy " in updated[2]
    assert s3.get_bucket_lifecycle_configuration(Bucket=NAMES["IMAGE_CACHE_BUCKET"])
    table = glue.get_table(DatabaseName="occ_test", Name="occupancy")["Table"]
    assert len(table["StorageDescriptor"]["Columns"]) == 7
    assert outcomes(provision()) == ["unchanged"] * 14


def test_it_updates_a_workgroup_whose_results_went_elsewhere(aws_credentials):  # noqa: F811
    athena = aws.client("athena", region=REGION)
    workgroup = Workgroup("occ-test", "s3://occ-test-athena-results/queries/")
    drifted = {
        **workgroup.configuration(),
        "ResultConfiguration": {"OutputLocation": "s3://somewhere-else/"},
    }
    with Stubber(athena) as stub:
        stub.add_response(
            "get_work_group",
            {"WorkGroup": {"Name": "occ-test", "Configuration": drifted}},
            {"WorkGroup": "occ-test"},
        )
        stub.add_response(
            "update_work_group",
            {},
            {
                "WorkGroup": "occ-test",
                "ConfigurationUpdates": {
                    "ResultConfigurationUpdates": (
                        workgroup.configuration()["ResultConfiguration"]
                    ),
                    "EnforceWorkGroupConfiguration": True,
                    "PublishCloudWatchMetricsEnabled": True,
                    "BytesScannedCutoffPerQuery": ATHENA_SCAN_LIMIT_BYTES,
                },
                "State": "ENABLED",
            },
        )

        outcome = workgroup.ensure(lambda service: athena)

        stub.assert_no_pending_responses()
    assert outcome == "updated"


def test_a_table_with_other_keys_stops_it_with_a_message(on_aws):  # noqa: F811
    aws.client("dynamodb").create_table(
        TableName=NAMES["CURRENT_COUNTS_TABLE"],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    with pytest.raises(CommandError, match="exists with other keys"):
        provision()


def test_a_dry_run_prints_the_plan_and_touches_nothing(on_aws):  # noqa: F811
    lines = provision("--dry-run")

    assert lines[0] == "Would create or update, in the default region:"
    assert len(lines) == 15
    assert any(NAMES["IMAGE_CACHE_BUCKET"] in line for line in lines)
    assert aws.client("s3").list_buckets()["Buckets"] == []


def test_a_stage_supplies_the_names_and_region_of_its_deployment(on_aws):  # noqa: F811
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    environment = stages["dev"]["environment_variables"]

    lines = provision("--stage", "dev_pipeline", "--dry-run")

    assert lines[0] == f"Would create or update, in {stages['dev']['aws_region']}:"
    assert any(f"bucket {stages['dev']['s3_bucket']} " in line for line in lines)
    for name in ("IMAGE_CACHE_BUCKET", "CURRENT_COUNTS_TABLE", "ATHENA_WORKGROUP"):
        assert any(f" {environment[name]} " in line for line in lines)
    names = names_from_stage(ROOT / "zappa_settings.json", "dev_pipeline")
    assert names == names_from_stage(ROOT / "zappa_settings.json", "dev")


def test_an_unknown_stage_stops_it_with_a_message(on_aws):  # noqa: F811
    with pytest.raises(CommandError, match="no stage 'prod'"):
        provision("--stage", "prod")


def test_the_committed_stage_provisions_in_its_own_region(on_aws):  # noqa: F811
    stages = json.loads((ROOT / "zappa_settings.json").read_text())
    region = stages["dev"]["aws_region"]

    lines = provision("--stage", "dev")

    assert lines[0] == f"Provisioning in {region}:"
    assert outcomes(lines) == ["created"] * 15
    s3 = aws.client("s3", region=region)
    location = s3.get_bucket_location(Bucket=stages["dev"]["s3_bucket"])
    assert (location["LocationConstraint"] or "us-east-1") == region
    tables = aws.client("dynamodb", region=region).list_tables()["TableNames"]
    assert "occupancy-dev-current-counts" in tables
    assert outcomes(provision("--stage", "dev")) == ["unchanged"] * 15


def test_a_bucket_name_another_account_owns_stops_it_with_a_message(
    aws_credentials,  # noqa: F811
):
    s3 = aws.client("s3", region=REGION)
    with Stubber(s3) as stub:
        stub.add_client_error(
            "head_bucket", service_error_code="403", http_status_code=403
        )

        with pytest.raises(ProvisionError, match="belongs to another account"):
            Bucket("someone-elses-bucket").ensure(lambda service: s3)
