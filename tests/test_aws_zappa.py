"""zappa_settings.json and the deploy requirement lists, checked against
the code and the provisioned names they must agree with."""

import importlib
import inspect
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STAGES = json.loads((ROOT / "zappa_settings.json").read_text())
# Zappa's own rules: API Gateway stage names, and the function part of a
# schedule's rule name, from which its handler finds the function again.
STAGE_NAME = re.compile(r"^[a-zA-Z0-9_]+$")
SCHEDULED_FUNCTION = re.compile(r"^[._A-Za-z0-9]{0,63}$")
NOT_DEPLOYED = ("opencv", "duckdb", "pedestrian", "moto", "pytest", "playwright")


def stage(name: str) -> dict:
    config = dict(STAGES[name])
    if "extends" in config:
        parent = stage(config.pop("extends"))
        environment = {
            **parent.get("environment_variables", {}),
            **config.get("environment_variables", {}),
        }
        config = {**parent, **config, "environment_variables": environment}
    return config


def events(name: str) -> list[dict]:
    return stage(name).get("events", [])


def requirements(path: Path) -> dict[str, str]:
    """The pins of a list and of the lists it includes, by package name."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("-r "):
            pins.update(requirements(path.parent / line[3:].strip()))
        elif "==" in line:
            name, version = line.split("==")
            pins[re.sub(r"\[.*\]", "", name).lower()] = version
    return pins


def test_every_stage_runs_python_3_12_on_the_aws_backend():
    assert set(STAGES) == {"dev", "dev_pipeline"}
    for name in STAGES:
        config = stage(name)
        assert STAGE_NAME.match(name)
        assert config["runtime"] == "python3.12"
        assert config["django_settings"] == "occupancy_site.settings"
        assert config["environment_variables"]["OCCUPANCY_BACKEND"] == "aws"


@pytest.mark.parametrize("name", list(STAGES))
def test_every_function_zappa_calls_takes_an_event_and_a_context(name):
    functions = [event["function"] for event in events(name)]

    for path in functions:
        module, attribute = path.rsplit(".", 1)
        function = getattr(importlib.import_module(module), attribute)
        parameters = list(inspect.signature(function).parameters.values())
        assert [p.name for p in parameters] == ["event", "context"], path
        assert all(p.default is inspect.Parameter.empty for p in parameters)
    assert len(functions) == (4 if name == "dev_pipeline" else 0)


def test_the_snapshots_and_processed_images_trigger_their_stages():
    environment = stage("dev_pipeline")["environment_variables"]

    sources = {
        event["function"]: event["event_source"]
        for event in events("dev_pipeline")
        if "event_source" in event
    }

    assert sources == {
        "pipeline.handlers.crop_handler": {
            "arn": f"arn:aws:s3:::{environment['IMAGE_CACHE_BUCKET']}",
            "events": ["s3:ObjectCreated:*"],
            "suffix": ".jpg",
        },
        "pipeline.handlers.count_handler": {
            "arn": f"arn:aws:s3:::{environment['PROCESSED_IMAGES_BUCKET']}",
            "events": ["s3:ObjectCreated:*"],
            "suffix": ".jpg",
        },
    }


def test_the_sweep_runs_every_minute_and_the_history_once_a_day():
    schedules = {
        event["function"]: event["expression"]
        for event in events("dev_pipeline")
        if "expression" in event
    }

    assert schedules == {
        "pipeline.handlers.retention_handler": "rate(1 minute)",
        "pipeline.handlers.history_handler": "cron(30 2 * * ? *)",
    }
    assert all(SCHEDULED_FUNCTION.match(function) for function in schedules)


def test_only_the_web_stage_answers_http_and_keeps_warm():
    web, pipeline = stage("dev"), stage("dev_pipeline")

    assert web.get("apigateway_enabled", True) is True and web["keep_warm"] is True
    assert pipeline["apigateway_enabled"] is False and pipeline["keep_warm"] is False
    assert not events("dev")


def test_secrets_come_from_the_deploy_bucket_not_the_repository():
    for name in STAGES:
        config = stage(name)
        environment = config["environment_variables"]
        assert "DJANGO_SECRET_KEY" not in environment
        assert "DATABASE_URL" not in environment
        assert config["remote_env"].startswith(f"s3://{config['s3_bucket']}/")


def test_the_functions_may_use_exactly_the_athena_and_glue_objects_provisioned():
    config = stage("dev_pipeline")
    environment = config["environment_variables"]
    statements = {
        statement["Action"][0].split(":")[0]: statement
        for statement in config["extra_permissions"]
    }

    assert statements["rekognition"]["Action"] == ["rekognition:DetectLabels"]
    workgroup = environment["ATHENA_WORKGROUP"]
    assert statements["athena"]["Resource"].endswith(f":workgroup/{workgroup}")
    database = environment["ATHENA_DATABASE"]
    assert f"arn:aws:glue:*:*:database/{database}" in statements["glue"]["Resource"]


def test_the_deploy_list_carries_no_detector_query_engine_or_test_tool():
    deployed = requirements(ROOT / "requirements" / "deploy.txt")

    assert "zappa" in deployed and "psycopg" in deployed and "django" in deployed
    assert [n for n in deployed if n.startswith(NOT_DEPLOYED)] == []


def test_every_deploy_pin_agrees_with_the_constraints():
    constraints = requirements(ROOT / "requirements" / "constraints.txt")
    deployed = requirements(ROOT / "requirements" / "deploy.txt")

    assert {n: v for n, v in deployed.items() if constraints.get(n) != v} == {}


def python_3_12() -> str:
    # pyenv's shim answers only where a 3.12 is selected: ask it directly.
    installed = sorted((Path.home() / ".pyenv" / "versions").glob("3.12.*"))
    if installed:
        return str(installed[-1] / "bin" / "python3.12")
    return shutil.which("python3.12") or "python3.12"


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("OCCUPANCY_SLOW_TESTS") != "1",
    reason="builds a Python 3.12 virtualenv: set OCCUPANCY_SLOW_TESTS=1",
)
def test_zappa_packs_the_web_stage_without_reaching_aws(request, tmp_path):
    venv = request.config.cache.mkdir("deploy-venv-3.12")
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([python_3_12(), "-m", "venv", str(venv)], check=True)
    install = [str(python), "-m", "pip", "install", "--quiet"]
    requirements_file = str(ROOT / "requirements" / "deploy.txt")
    subprocess.run([*install, "-r", requirements_file], check=True, timeout=900)
    archive = tmp_path / "web.zip"
    env = {
        **os.environ,
        "VIRTUAL_ENV": str(venv),
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        # No way out: the package must be built from the virtualenv alone.
        "HTTPS_PROXY": "http://127.0.0.1:9",
        "HTTP_PROXY": "http://127.0.0.1:9",
    }

    subprocess.run(
        [str(venv / "bin" / "zappa"), "package", "dev", "-o", str(archive)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=900,
    )

    names = zipfile.ZipFile(archive).namelist()
    assert "pipeline/handlers.py" in names and "occupancy_site/settings.py" in names
    assert "zappa_settings.py" in names and "psycopg/__init__.py" in names
    tops = {name.split("/")[0] for name in names}
    assert not {"cv2", "duckdb", "moto", "pytest", "tests", "troposphere"} & tops
    assert [name for name in tops if name.startswith(".")] == []
    unzipped = sum(info.file_size for info in zipfile.ZipFile(archive).infolist())
    assert unzipped < 250 * 1024**2  # Lambda's limit for an unpacked package
