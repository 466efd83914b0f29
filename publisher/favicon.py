"""/favicon.ico: the SVG favicon's mark (static/favicon.svg) as a classic ICO.

Pages link the SVG; browsers and feed readers still ask for /favicon.ico by name (for
pages they show without HTML, and where SVG icons are unsupported). Pillow draws the same
shapes once per process, in the sizes an ICO usually carries; it is the same for every
reader, so it may be cached for a long time anywhere.
"""

from functools import lru_cache
from io import BytesIO

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe
from PIL import Image, ImageDraw

from publisher.cache.pages import shared_asset

ICON_SIZES = [(16, 16), (32, 32), (48, 48)]
# static/favicon.svg: a 32-unit square with rounded corners and three lines of text.
_BACKGROUND = "#16181d"
_LINES = [((7, 10), (25, 10)), ((7, 16), (19, 16)), ((7, 22), (25, 22))]
_SCALE = 8  # drawn at 256 px, then reduced for each size
MAX_AGE = 30 * 24 * 3600


@lru_cache(maxsize=1)
def favicon_ico_bytes() -> bytes:
    side = 32 * _SCALE
    image = Image.new("RGBA", (side, side), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((0, 0, side - 1, side - 1), radius=6 * _SCALE, fill=_BACKGROUND)
    radius = 1.5 * _SCALE
    for start, end in _LINES:
        (x1, y1), (x2, y2) = [(x * _SCALE, y * _SCALE) for x, y in (start, end)]
        draw.line((x1, y1, x2, y2), fill="white", width=int(2 * radius))
        for x, y in ((x1, y1), (x2, y2)):  # round line caps, as the SVG's
            draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill="white")
    buffer = BytesIO()
    image.save(buffer, format="ICO", sizes=ICON_SIZES)
    return buffer.getvalue()


@require_safe
@shared_asset(max_age=MAX_AGE)
def favicon_ico(request: HttpRequest) -> HttpResponse:
    return HttpResponse(favicon_ico_bytes(), content_type="image/x-icon")
