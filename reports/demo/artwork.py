"""Cover art and author portraits for the demo content, drawn with Pillow when it loads.

Every picture is drawn from a seed derived from what it shows (a report's slug, an author's
initials), with no other randomness, so loading on any machine draws the same pictures and
names them the same (`cover_name`, `portrait_name`): a second load finds them in storage and
draws nothing. Covers are abstract: a gradient in the colour of the report's kind (the
colours of the kind labels in static/css/site.css) with a motif that suggests the kind of
work, charts without data, never text, so they need no translation and claim no figures.
"""

import hashlib
import io
import math
import random
from typing import Final, Literal

from PIL import Image, ImageChops, ImageDraw, ImageFont

# Bump when the drawing changes: names carry it, so a new look is stored under new names.
ARTWORK_VERSION: Final = 1
COVER_SIZE: Final = (1200, 630)  # the proportions link previews use
PORTRAIT_SIZE: Final = 240
# Drawn at twice the size and reduced: smooth edges, which ImageDraw does not do itself.
_SCALE: Final = 2
_WEBP_QUALITY: Final = 80

Motif = Literal["bars", "curves", "scatter", "steps", "bands", "waves"]

KIND_COLOURS: Final[dict[str, str]] = {
    "test": "#1d6b3a",
    "shootout": "#0b5cad",
    "investigation": "#8a1c1c",
    "guide": "#5b3b8c",
    "news": "#3d4450",
    "show": "#8a4b08",
}
KIND_MOTIFS: Final[dict[str, Motif]] = {
    "test": "curves",
    "shootout": "bars",
    "investigation": "scatter",
    "guide": "steps",
    "news": "bands",
    "show": "waves",
}
# Light accents that read on every kind colour.
_ACCENTS: Final = ["#f2c14e", "#8fd3c8", "#f4e3c1", "#a9cdf5", "#f5a97f", "#c8e6a0"]

RGB = tuple[int, int, int]


def _rgb(colour: str) -> RGB:
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))


def _mix(a: RGB, b: RGB, share_of_b: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * share_of_b),
        round(a[1] + (b[1] - a[1]) * share_of_b),
        round(a[2] + (b[2] - a[2]) * share_of_b),
    )


def _seed(*parts: object) -> int:
    text = "|".join(str(part) for part in (ARTWORK_VERSION, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def cover_name(*, slug: str, kind: str, count: int) -> str:
    """The file name of a report's cover: the same inputs always give the same name."""
    digest = hashlib.sha256(f"{ARTWORK_VERSION}|{slug}|{kind}|{count}".encode()).hexdigest()
    return f"{slug}-{digest[:10]}.webp"


def portrait_name(*, key: str, initials: str, colour: str) -> str:
    digest = hashlib.sha256(f"{ARTWORK_VERSION}|{key}|{initials}|{colour}".encode()).hexdigest()
    return f"{key}-{digest[:10]}.webp"


def _gradient(size: tuple[int, int], start: RGB, end: RGB) -> Image.Image:
    """A diagonal gradient from `start` (top left) to `end` (bottom right)."""
    small = (64, max(1, 64 * size[1] // size[0]))  # a gradient is smooth: compute it small
    down = Image.linear_gradient("L").resize(small, Image.Resampling.BILINEAR)
    across = Image.linear_gradient("L").rotate(90).resize(small, Image.Resampling.BILINEAR)
    mask = ImageChops.add(down, across, scale=2.0).resize(size, Image.Resampling.BILINEAR)
    # Each channel mapped from the mask through a lookup table: far quicker than compositing.
    channels = [
        mask.point([round(a + (b - a) * level / 255) for level in range(256)])
        for a, b in zip(start, end, strict=True)
    ]
    return Image.merge("RGB", channels)


def _grid(draw: ImageDraw.ImageDraw, size: tuple[int, int], *, step: int, colour: RGB) -> None:
    width, height = size
    for x in range(step, width, step):
        draw.line([(x, 0), (x, height)], fill=(*colour, 28), width=_SCALE)
    for y in range(step, height, step):
        draw.line([(0, y), (width, y)], fill=(*colour, 28), width=_SCALE)


def _bars(draw: ImageDraw.ImageDraw, size, rng: random.Random, count: int, accent: RGB) -> None:
    width, height = size
    left, right, base = width * 0.12, width * 0.88, height * 0.84
    slot = (right - left) / count
    for index in range(count):
        x = left + slot * index + slot * 0.18
        top = base - height * rng.uniform(0.28, 0.66)
        lead = index == 0
        colour = (*accent, 235) if lead else (255, 255, 255, 120)
        draw.rounded_rectangle([x, top, x + slot * 0.64, base], radius=6 * _SCALE, fill=colour)
    draw.line([(left, base), (right, base)], fill=(255, 255, 255, 200), width=3 * _SCALE)


def _curves(draw: ImageDraw.ImageDraw, size, rng: random.Random, count: int, accent: RGB) -> None:
    width, height = size
    lines = max(2, min(count, 4))
    for line in range(lines):
        # Two slow harmonics: a smooth trace like a logged measurement, different per line.
        phase, frequency = rng.uniform(0, math.tau), rng.uniform(0.6, 1.4)
        amplitude, ripple = height * rng.uniform(0.05, 0.12), height * rng.uniform(0.01, 0.03)
        level, tilt = height * rng.uniform(0.35, 0.68), rng.uniform(-0.18, 0.18) * height
        points = []
        for step in range(121):
            t = step / 120
            y = level + tilt * t + amplitude * math.sin(phase + t * math.tau * frequency)
            points.append((width * (0.08 + 0.84 * t), y + ripple * math.sin(t * 31 + phase)))
        colour = (*accent, 240) if line == 0 else (255, 255, 255, 150)
        draw.line(points, fill=colour, width=(5 if line == 0 else 3) * _SCALE, joint="curve")
        for x, y in points[::20]:
            radius = (7 if line == 0 else 5) * _SCALE
            draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=colour)


def _scatter(draw: ImageDraw.ImageDraw, size, rng: random.Random, count: int, accent: RGB) -> None:
    width, height = size
    slope = rng.uniform(-0.35, 0.35)
    for _ in range(22 + count * 4):
        x = rng.uniform(0.08, 0.92) * width
        y = height * (0.5 + slope * (x / width - 0.5)) + rng.gauss(0, height * 0.13)
        radius = rng.uniform(5, 16) * _SCALE
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(255, 255, 255, 95))
    for _ in range(max(1, count // 2)):
        x, y = rng.uniform(0.2, 0.8) * width, rng.uniform(0.15, 0.45) * height
        radius = rng.uniform(30, 55) * _SCALE
        draw.ellipse(
            [x - radius, y - radius, x + radius, y + radius],
            outline=(*accent, 230),
            width=5 * _SCALE,
        )
    y0, y1 = height * (0.5 - slope * 0.42), height * (0.5 + slope * 0.42)
    draw.line([(width * 0.08, y0), (width * 0.92, y1)], fill=(*accent, 200), width=3 * _SCALE)


def _steps(draw: ImageDraw.ImageDraw, size, rng: random.Random, count: int, accent: RGB) -> None:
    width, height = size
    steps = max(3, min(count, 7))
    tread, riser = width * 0.72 / steps, height * 0.6 / steps
    for index in range(steps):
        x = width * 0.14 + tread * index
        top = height * 0.82 - riser * (index + 1)
        colour = (*accent, 230) if index == steps - 1 else (255, 255, 255, 70 + 18 * index)
        draw.rectangle([x, top, x + tread - 4 * _SCALE, height * 0.82], fill=colour)
        radius = 9 * _SCALE
        cx, cy = x + tread / 2, top - radius * 2.2
        if rng.random() < 0.7 or index == steps - 1:
            draw.ellipse(
                [cx - radius, cy - radius, cx + radius, cy + radius], fill=(255, 255, 255, 190)
            )


def _bands(draw: ImageDraw.ImageDraw, size, rng: random.Random, count: int, accent: RGB) -> None:
    width, height = size
    rows = 5 + count % 3
    for row in range(rows):
        y = height * (0.16 + 0.7 * row / rows)
        x = width * rng.uniform(0.06, 0.3)
        while x < width * 0.94:
            length = width * rng.uniform(0.05, 0.2)
            colour = (*accent, 220) if row == 1 and x < width * 0.5 else (255, 255, 255, 85)
            draw.rounded_rectangle(
                [x, y, min(x + length, width * 0.94), y + height * 0.045],
                radius=4 * _SCALE,
                fill=colour,
            )
            x += length + width * rng.uniform(0.015, 0.05)


def _waves(draw: ImageDraw.ImageDraw, size, rng: random.Random, count: int, accent: RGB) -> None:
    width, height = size
    cx, cy = width * rng.uniform(0.2, 0.3), height * rng.uniform(0.45, 0.6)
    for ring in range(1, 9):
        radius = ring * height * 0.11
        colour = (*accent, 230) if ring == 3 else (255, 255, 255, 150 - ring * 12)
        draw.arc(
            [cx - radius, cy - radius, cx + radius, cy + radius],
            start=-55,
            end=55,
            fill=colour,
            width=5 * _SCALE,
        )
    for seat in range(max(2, min(count, 5))):
        x, y = width * (0.62 + 0.07 * seat), height * (0.7 - 0.05 * (seat % 2))
        radius = 22 * _SCALE
        draw.ellipse([x - radius, y - radius, x + radius, y + radius], fill=(255, 255, 255, 140))


_MOTIFS = {
    "bars": _bars,
    "curves": _curves,
    "scatter": _scatter,
    "steps": _steps,
    "bands": _bands,
    "waves": _waves,
}


def _webp(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", quality=_WEBP_QUALITY, method=2)
    return buffer.getvalue()


def cover_webp(*, slug: str, kind: str, count: int) -> bytes:
    """A report's cover: its kind's colour and motif; `count` is how many things it compares
    or follows (bars, lines, steps), seeded by the slug so every report's cover differs."""
    rng = random.Random(_seed("cover", slug, kind, count))
    base = _rgb(KIND_COLOURS[kind])
    accent = _rgb(rng.choice(_ACCENTS))
    size = (COVER_SIZE[0] * _SCALE, COVER_SIZE[1] * _SCALE)
    dark, light = _mix(base, (8, 12, 20), 0.45), _mix(base, (255, 255, 255), 0.18)
    image = _gradient(size, dark, light)
    draw = ImageDraw.Draw(image, "RGBA")  # an RGB picture drawn in RGBA: shapes blend in
    _grid(draw, size, step=rng.choice([60, 75, 90]) * _SCALE, colour=(255, 255, 255))
    _MOTIFS[KIND_MOTIFS[kind]](draw, size, rng, count, accent)
    return _webp(image.reduce(_SCALE))


def bench_photo_jpeg(*, seed: str) -> bytes:
    """A stand-in for an editor's photograph of the test bench, as a camera would deliver it:
    a JPEG, larger than any rendition, with the EXIF a phone writes (a model name and a GPS
    position), which the image library removes at upload like any other."""
    rng = random.Random(_seed("bench", seed))
    width, height = 2000, 1250
    image = _gradient((width, height), (58, 62, 70), (148, 152, 160))
    draw = ImageDraw.Draw(image, "RGBA")
    draw.rectangle([0, int(height * 0.72), width, height], fill=(92, 74, 58))  # the bench
    left, top = int(width * 0.18), int(height * 0.22)
    draw.rounded_rectangle(
        [left, top, left + 620, int(height * 0.72)], radius=28, fill=(226, 229, 233)
    )
    draw.rectangle([left + 80, top + 90, left + 540, top + 240], fill=(24, 60, 42))
    for row in range(6):  # the nameplate's lines
        y = top + 330 + row * 48
        draw.rectangle(
            [left + 80, y, left + 80 + rng.randint(220, 440), y + 16], fill=(90, 96, 104)
        )
    meter = int(width * 0.62)
    draw.rounded_rectangle(
        [meter, int(height * 0.45), meter + 520, int(height * 0.72)], radius=16, fill=(30, 34, 40)
    )
    for channel in range(4):
        x = meter + 40 + channel * 118
        draw.rectangle([x, int(height * 0.52), x + 90, int(height * 0.6)], fill=(143, 211, 200))
    for cable in range(3):
        y = int(height * 0.6) + cable * 26
        colour = [(190, 40, 40), (30, 30, 30), (40, 90, 190)][cable]
        draw.line([(left + 620, y), (meter, y + 20)], fill=colour, width=14)
    exif = Image.Exif()
    exif[0x0110] = "Demo Phone"  # Model
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88, exif=exif)
    return buffer.getvalue()


def portrait_webp(*, initials: str, colour: str) -> bytes:
    """An author's portrait: their initials on a disc of their colour."""
    side = PORTRAIT_SIZE * _SCALE
    base = _rgb(colour)
    image = _gradient((side, side), _mix(base, (0, 0, 0), 0.25), _mix(base, (255, 255, 255), 0.12))
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=side * 0.4)
    draw.text((side / 2, side / 2), initials, font=font, fill=(255, 255, 255), anchor="mm")
    return _webp(image.reduce(_SCALE))
