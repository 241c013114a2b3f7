"""The history as CSV, for spreadsheets."""

import csv
import io
from typing import Any

from rest_framework.renderers import BaseRenderer

COLUMNS = ("scope", "weekday", "hour", "average", "samples", "low", "high")
RUN_COLUMNS = ("window_start", "window_end", "computed_at")


class HistoryCSVRenderer(BaseRenderer):
    """One line per row of the history; an error as a one-cell `detail`.

    Each line repeats the window and the time it was computed, so that a
    file on its own still says what it covers.
    """

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(
        self,
        data: Any,
        accepted_media_type: str | None = None,
        renderer_context: dict | None = None,
    ) -> bytes:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        if not isinstance(data, dict) or "rows" not in data:
            detail = data.get("detail", "") if isinstance(data, dict) else ""
            writer.writerows([["detail"], [str(detail)]])
            return out.getvalue().encode()
        columns = [c for c in COLUMNS if c != "weekday" or data["by"] != "hour"]
        writer.writerow([*columns, *RUN_COLUMNS])
        window = data.get("window") or {}
        run = [window.get("start"), window.get("end"), data.get("computed_at")]
        for row in data["rows"]:
            values = {**row, "scope": data["scope"]}
            writer.writerow([*(values.get(c) for c in columns), *run])
        return out.getvalue().encode()
