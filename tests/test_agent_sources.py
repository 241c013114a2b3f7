"""Where the camera agent's pictures come from."""

import importlib.util

import pytest

from pi.config import SourceConfig
from pi.sources import (
    PICAMERA_MISSING,
    FolderSource,
    SourceError,
    WebcamSource,
    open_source,
)
from tests.agent_helpers import copy_frames


def test_a_folder_source_cycles_through_its_jpegs_in_name_order(tmp_path):
    frames = copy_frames(tmp_path)
    (tmp_path / "notes.txt").write_text("not a frame")
    source = open_source(SourceConfig("folder", folder=tmp_path))

    taken = [source.capture(85) for _ in range(len(frames) + 1)]

    assert taken == [*frames, frames[0]]


def test_a_folder_source_needs_at_least_one_jpeg(tmp_path):
    with pytest.raises(SourceError, match="no \\*.jpg files"):
        FolderSource(tmp_path)


def test_a_folder_source_reports_a_frame_that_disappeared(tmp_path):
    copy_frames(tmp_path)
    source = FolderSource(tmp_path)
    source.frames[0].unlink()

    with pytest.raises(SourceError, match="cannot read"):
        source.capture(85)


@pytest.mark.skipif(
    importlib.util.find_spec("picamera2") is not None,
    reason="picamera2 is installed here",
)
def test_a_pi_camera_source_says_how_to_install_picamera2():
    with pytest.raises(SourceError) as caught:
        open_source(SourceConfig("picamera", resolution=(1640, 1232)))

    assert str(caught.value) == PICAMERA_MISSING
    assert "apt install python3-picamera2" in PICAMERA_MISSING
    assert "--system-site-packages" in PICAMERA_MISSING


def test_a_webcam_source_reports_a_camera_it_cannot_open():
    # No camera is attached to device 63 on a test machine.
    with pytest.raises(SourceError, match="cannot open webcam 63"):
        WebcamSource(63, (640, 480))
