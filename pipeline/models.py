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
    updated = models.DateTimeField(auto_now=True)
