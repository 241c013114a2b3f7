"""The camera agent's configuration file."""

from pathlib import Path

import pytest

from pi.config import ConfigError, hardware_serial, load_config

EXAMPLE = Path(__file__).resolve().parent.parent / "pi" / "agent.example.toml"
MINIMAL = """
server_url = "http://127.0.0.1:8000"
serial = "abc123"
source = "folder"
[folder]
path = "frames"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def error_of(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    return str(caught.value)


def test_it_reads_the_example_config(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("Hardware\t: BCM2835\nSerial\t\t: 10000000abcdef12\n")

    config = load_config(EXAMPLE, cpuinfo=cpuinfo)

    assert config.server_url == "http://127.0.0.1:8000"
    assert config.serial == "10000000abcdef12"
    assert config.source.kind == "picamera"
    assert config.source.resolution == (1640, 1232)
    assert config.state_path == Path("/var/lib/occupancy-agent/state.json")
    assert config.buffer_size == 1000


def test_it_takes_relative_paths_from_the_config_folder(tmp_path):
    config = load_config(write(tmp_path, MINIMAL))

    assert config.source.folder == tmp_path / "frames"
    assert config.state_path == tmp_path / "state.json"
    assert config.buffer_dir == tmp_path / "buffer"
    assert config.enrollment_token is None
    assert config.heartbeat_seconds == 60
    assert config.log_level == "INFO"


def test_it_reads_a_webcam_source_with_its_options(tmp_path):
    text = MINIMAL.replace('source = "folder"', 'source = "webcam"')
    text += "[webcam]\ndevice = 2\nresolution = [640, 480]\n"

    config = load_config(write(tmp_path, text))

    assert (config.source.kind, config.source.device) == ("webcam", 2)
    assert config.source.resolution == (640, 480)


def test_it_rejects_an_unknown_key_naming_it(tmp_path):
    message = error_of(tmp_path, MINIMAL.replace("serial", "buffer_sise = 3\nserial"))

    assert message.startswith("buffer_sise: unknown key")


def test_it_rejects_an_unknown_key_in_a_source_table(tmp_path):
    message = error_of(tmp_path, MINIMAL + 'pth = "x"\n')

    assert message.startswith("folder.pth: unknown key")


@pytest.mark.parametrize(
    ("removed", "key"),
    [
        ('server_url = "http://127.0.0.1:8000"', "server_url"),
        ('source = "folder"', "source"),
        ('path = "frames"', "folder.path"),
    ],
)
def test_it_names_a_missing_key(tmp_path, removed, key):
    assert error_of(tmp_path, MINIMAL.replace(removed, "")) == f"{key}: missing"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('server_url = "ftp://example.com"', "server_url: must be an http"),
        ('server_url = "http://"', "server_url: must be an http"),
        ("buffer_size = 0", "buffer_size: must be between 1 and"),
        ('buffer_size = "10"', "buffer_size: must be a whole number"),
        ("heartbeat_seconds = true", "heartbeat_seconds: must be a whole number"),
        ("heartbeat_seconds = 1.5", "heartbeat_seconds: must be a whole number"),
        ('log_level = "LOUD"', "log_level: must be one of"),
        ('source = "phone"', "source: must be one of"),
        ('serial = "has space"', "serial: use 1 to 63"),
        ('enrollment_token = ""', "enrollment_token: must be a non-empty string"),
        ("state_path = 3", "state_path: must be a path"),
    ],
)
def test_it_rejects_a_bad_value_naming_the_key(tmp_path, line, message):
    key = line.split(" =")[0]
    lines = [row for row in MINIMAL.splitlines() if not row.startswith(key + " ")]
    text = "\n".join([line, *lines]) + "\n"

    assert error_of(tmp_path, text).startswith(message)


@pytest.mark.parametrize(
    "resolution", ["[640]", "[640, 0]", '["640", "480"]', "[640.5, 480]", "640"]
)
def test_it_rejects_a_bad_resolution(tmp_path, resolution):
    text = MINIMAL + f"[picamera]\nresolution = {resolution}\n"
    text = text.replace('source = "folder"', 'source = "picamera"')

    assert error_of(tmp_path, text).startswith("picamera.resolution: must be")


def test_it_reports_a_toml_syntax_error_with_the_file(tmp_path):
    message = error_of(tmp_path, 'server_url = "http://x\n')

    assert "agent.toml is not valid TOML" in message


def test_it_reports_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="Cannot read"):
        load_config(tmp_path / "nowhere.toml")


def test_it_reads_the_serial_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nSerial\t\t: 00000000c0ffee42\n")
    machine_id = tmp_path / "machine-id"
    machine_id.write_text("0123456789abcdef0123456789abcdef\n")

    assert hardware_serial(cpuinfo, machine_id) == "00000000c0ffee42"


def test_it_falls_back_to_the_machine_id(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    # A Pi without a serial, as some boards report.
    cpuinfo.write_text("processor\t: 0\nSerial\t\t: 0000000000000000\n")
    machine_id = tmp_path / "machine-id"
    machine_id.write_text("0123456789abcdef0123456789abcdef\n")

    assert hardware_serial(cpuinfo, machine_id) == "0123456789abcdef0123456789abcdef"


def test_it_says_so_when_no_serial_can_be_found(tmp_path):
    text = MINIMAL.replace('serial = "abc123"', "")

    with pytest.raises(ConfigError, match="serial: not set"):
        load_config(
            write(tmp_path, text),
            cpuinfo=tmp_path / "none",
            machine_id=tmp_path / "none",
        )
