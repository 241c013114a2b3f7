from django.db import models


class HistoricalFigure(models.Model):
    """The relational historical data store: one usual figure per slot.

    A scope is the whole space ("space") or one zone ("zone:<id>"); a slot
    is an hour of the day ("h09") or an hour of a weekday ("d1h09",
    Monday being 1).
    """

    scope = models.CharField(max_length=40)
    slot = models.CharField(max_length=8)
    average = models.FloatField()
    samples = models.PositiveIntegerField()
    low = models.FloatField()
    high = models.FloatField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "slot"], name="one_figure_per_slot"
            ),
        ]


class HistoryRun(models.Model):
    """When the figures of one granularity were computed, and from what."""

    by = models.CharField(
        max_length=16,
        unique=True,
        choices=[("hour", "hour of day"), ("weekday_hour", "weekday by hour")],
    )
    computed_at = models.DateTimeField()
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
