from typing import Any

from django import forms

from zones.geometry import parse_polygon
from zones.models import Zone


class PolygonInput(forms.Widget):
    """The polygon's JSON in a hidden input that the zone editor drives.

    Not an Input subclass on purpose: the admin hides the cell of a hidden
    input, and with it the error message for a bad polygon.
    """

    template_name = "zones/widgets/polygon.html"


class ZoneForm(forms.ModelForm):
    class Meta:
        model = Zone
        fields = ["name", "polygon", "capacity", "active"]
        widgets = {"polygon": PolygonInput}

    def clean_polygon(self) -> list[list[float]]:
        points: Any = self.cleaned_data["polygon"]
        return [list(point) for point in parse_polygon(points)]
