"""CSV downloads for staff: the member and newsletter exports, the dashboard's figures."""

import csv
from typing import Any

from django.http import HttpResponse


def csv_download(filename: str) -> tuple[HttpResponse, Any]:
    """An attachment response and a csv writer that writes into it."""
    response = HttpResponse(content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response, csv.writer(response)


def csv_safe(value: object) -> object:
    """A text cell a spreadsheet would run as a formula, quoted; anything else unchanged."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return f"'{value}"
    return value
