from django.db import models

STAGES = [
    ("received", "received"),
    ("crop", "cropped, snapshot deleted"),
    ("count", "counted, processed image deleted"),
    ("expired", "deleted by the retention sweep"),
]


class ImageEvent(models.Model):
    """One moment in a snapshot's life, without any of its pixels."""

    camera_id = models.CharField(max_length=63)
    image_id = models.CharField(max_length=24, db_index=True)
    stage = models.CharField(max_length=16, choices=STAGES)
    at = models.DateTimeField(db_index=True)
    outcome = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-at"]
        verbose_name = "image event"

    def __str__(self) -> str:
        return f"{self.image_id} {self.stage}"
