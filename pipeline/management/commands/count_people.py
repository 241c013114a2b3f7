import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from PIL import Image

from devices.models import Camera
from pipeline.assign import people_per_zone
from pipeline.crop import zone_crop
from pipeline.detectors import get_detector
from pipeline.images import InvalidImage, encode_jpeg, load_snapshot
from zones.geometry import ZoneShape
from zones.models import Zone


class Command(BaseCommand):
    help = (
        "Count the people in image files with the person detector, and in "
        "the zones of a camera if one is named. Prints one JSON line per image."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("images", nargs="+", type=Path)
        parser.add_argument("--camera", help="also count in this camera's zones")
        parser.add_argument(
            "--strategy",
            choices=["assign", "crop"],
            help="how people are counted in zones (default: COUNT_STRATEGY)",
        )

    def handle(self, *args: object, **options: object) -> None:
        zones = self._zones(options["camera"])
        strategy = options["strategy"] or settings.COUNT_STRATEGY
        unreadable = 0
        for path in options["images"]:
            try:
                data = path.read_bytes()
                image = load_snapshot(
                    data, settings.MAX_IMAGE_PIXELS, formats=("JPEG", "PNG")
                )
            except (OSError, InvalidImage) as error:
                self.stderr.write(f"{path}: cannot read the image: {error}")
                unreadable += 1
                continue
            result = {"image": str(path), **_count(data, image, zones, strategy)}
            self.stdout.write(json.dumps(result))
        if unreadable:
            raise CommandError(
                f"{unreadable} image(s) could not be read.", returncode=2
            )

    def _zones(self, camera_id: object) -> list[ZoneShape]:
        if camera_id is None:
            return []
        if not Camera.objects.filter(pk=camera_id).exists():
            raise CommandError(f"There is no camera {camera_id!r}.", returncode=2)
        zones = Zone.objects.filter(camera_id=camera_id, active=True)
        return [zone.shape() for zone in zones]


def _count(
    data: bytes, image: Image.Image, zones: list[ZoneShape], strategy: str
) -> dict:
    detector = get_detector()
    boxes = detector.detect(data)
    if strategy == "crop":
        people = {
            zone.id: len(detector.detect(encode_jpeg(zone_crop(image, zone))))
            for zone in zones
        }
    else:
        people = people_per_zone(boxes, zones)
    return {
        "people": len(boxes),
        "zones": {zone.name: people[zone.id] for zone in zones},
    }
