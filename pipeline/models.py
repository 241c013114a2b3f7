from django.db import models


class CurrentCount(models.Model):
    """The relational current counts store: the latest count per zone.

    Kept apart from the Zone table on purpose: on AWS this is a DynamoDB
    table written by the pipeline, which never opens the database.
    """

    zone_id = models.PositiveBigIntegerField(primary_key=True)
    camera_id = models.CharField(max_length=63, db_index=True)
    zone_name = models.CharField(max_length=80)
    people = models.PositiveIntegerField()
    captured_at = models.DateTimeField()
    image_id = models.CharField(max_length=24)
    detector = models.CharField(max_length=64)
    # The raw counts of the last snapshots, comma-separated, oldest first.
    recent = models.CharField(max_length=200, blank=True, default="")
    # A thumbnail of grey cells, not a picture: see pipeline.unchanged.
    fingerprint = models.BinaryField(blank=True, default=b"")
    since_detection = models.PositiveIntegerField(default=0)
    updated = models.DateTimeField(auto_now=True)
