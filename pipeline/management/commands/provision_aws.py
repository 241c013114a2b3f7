from functools import partial
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from occupancy_site import aws
from pipeline.provision import (
    Names,
    ProvisionError,
    apply,
    names_from_settings,
    names_from_stage,
    plan,
)


class Command(BaseCommand):
    help = (
        "Create or update the AWS resources of the aws backend: the S3 "
        "buckets, the DynamoDB tables, the Glue database and table, the "
        "Athena workgroup, and the IoT thing group and camera policy. Safe to "
        "run again: only what differs is changed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--stage",
            help="take the names and region from this stage of "
            "zappa_settings.json instead of the environment",
        )
        parser.add_argument(
            "--zappa-settings",
            type=Path,
            default=Path(settings.BASE_DIR) / "zappa_settings.json",
            help="the Zappa settings file (default: the one in the checkout)",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="print the plan without contacting AWS",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        names = self._names(options)
        resources = plan(names)
        region = names.region or "the default region"

        if options["dry_run"]:
            self.stdout.write(f"Would create or update, in {region}:")
            for resource in resources:
                self.stdout.write(f"  {resource.describe()}")
            return

        self.stdout.write(f"Provisioning in {region}:")
        try:
            apply(resources, partial(aws.client, region=names.region), self._report)
        except ProvisionError as error:
            raise CommandError(str(error))
        except (BotoCoreError, ClientError) as error:
            raise CommandError(f"AWS refused: {error}")
        self.stdout.write(self.style.SUCCESS("Done."))

    def _names(self, options: dict[str, Any]) -> Names:
        try:
            if options["stage"]:
                return names_from_stage(options["zappa_settings"], options["stage"])
            return names_from_settings(settings)
        except ProvisionError as error:
            raise CommandError(str(error))

    def _report(self, outcome: str, description: str) -> None:
        self.stdout.write(f"  {outcome:<9} {description}")
