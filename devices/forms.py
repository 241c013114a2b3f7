from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.core.exceptions import ValidationError

from devices.config import parse_opening_hours


class OpeningHoursField(forms.CharField):
    """Opening windows typed as "07:00-12:00, 13:30-22:00"."""

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(f"{start}-{end}" for start, end in value)
        return value

    def to_python(self, value: Any) -> list[list[str]]:
        text = super().to_python(value)
        windows = []
        for part in text.split(","):
            start, dash, end = part.strip().partition("-")
            if not dash:
                raise ValidationError(
                    f"Write each window as HH:MM-HH:MM, not {part!r}."
                )
            windows.append([start.strip(), end.strip()])
        return parse_opening_hours(windows)


class CameraConfigForm(forms.Form):
    sampling_interval = forms.IntegerField(
        min_value=1, max_value=86_400, help_text="Seconds between two snapshots."
    )
    opening_hours = OpeningHoursField(
        max_length=500,
        help_text="Local times when cameras send snapshots, every day, e.g. "
        "07:00-22:00 or 22:00-02:00 across midnight; 00:00-24:00 for always.",
    )
    time_zone = forms.ChoiceField(choices=[])
    jpeg_quality = forms.IntegerField(min_value=10, max_value=100)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zones = sorted(available_timezones())
        self.fields["time_zone"].choices = [(zone, zone) for zone in zones]
