from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from devices.models import Camera
from zones.models import Zone
from zones.selections import mirror_camera


@receiver(post_save, sender=Zone)
@receiver(post_delete, sender=Zone)
def mirror_zone_change(sender: type, instance: Zone, **kwargs: object) -> None:
    # Inside the caller's transaction: the zone and its mirror are saved
    # together or not at all.
    with transaction.atomic():
        mirror_camera(instance.camera_id)


@receiver(post_delete, sender=Camera)
def forget_camera(sender: type, instance: Camera, **kwargs: object) -> None:
    mirror_camera(instance.pk)
