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
    computed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "slot"], name="one_figure_per_slot"
            ),
        ]
