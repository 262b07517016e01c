"""Images of the public page: the link preview (Open Graph / Twitter card) and the photos.

A preview is a 1200×630 PNG of a page's headline figures, drawn with Pillow. It is named by
the SHA-256 of what it shows, so it is drawn once per content and a changed figure gives a
new file (and a new ETag); old ones may be deleted at any time. Photos are the evidence
thumbnails at PHOTO_SIZE px, re-encoded from pixels only (no EXIF, no GPS position).
"""

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 1200, 630
PHOTO_SIZE = 960
# Bump when the drawing changes, so cached files of the old look are not served.
DRAWING_VERSION = 2

INK = (23, 37, 54)
MUTED = (76, 90, 107)
ACCENT = (11, 94, 76)
PAPER = (255, 255, 255)
BAND = (11, 94, 76)
BAR_BACK = (222, 229, 236)


@dataclass(frozen=True)
class Preview:
    """What a preview image shows."""

    kicker: str  # the plan's name
    title: str  # the page's subject
    figure: str  # the big number, e.g. "38%"
    figure_caption: str
    lines: tuple[str, ...]  # a few short facts
    progress: float  # 0..100, drawn as a bar

    @property
    def digest(self) -> str:
        raw = json.dumps([DRAWING_VERSION, *self.__dict__.values()], ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow's own scalable font: present wherever Pillow is, no system fonts needed.
    return ImageFont.load_default(size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, *, size: int, width: int) -> str:
    """`text` cut with an ellipsis to fit `width` pixels at `size`."""
    font = _font(size)
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text.rstrip() + "…"


def _wrap(draw: ImageDraw.ImageDraw, text: str, *, size: int, width: int, lines: int) -> list[str]:
    """`text` in at most `lines` lines of `width` pixels, the last one cut if need be."""
    font = _font(size)
    words = text.split()
    result: list[str] = []
    while words and len(result) < lines - 1:
        line = words.pop(0)
        while words and draw.textlength(f"{line} {words[0]}", font=font) <= width:
            line = f"{line} {words.pop(0)}"
        result.append(line)
    if words:
        result.append(_fit(draw, " ".join(words), size=size, width=width))
    return result


def draw_preview(preview: Preview) -> Image.Image:
    image = Image.new("RGB", (WIDTH, HEIGHT), PAPER)
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, WIDTH, 90), fill=BAND)
    draw.text((60, 26), _fit(draw, preview.kicker, size=34, width=1080), font=_font(34), fill=PAPER)
    for number, line in enumerate(_wrap(draw, preview.title, size=50, width=1080, lines=2)):
        draw.text((60, 112 + 60 * number), line, font=_font(50), fill=INK)
    draw.text((60, 245), preview.figure, font=_font(130), fill=ACCENT)
    draw.text(
        (60, 400),
        _fit(draw, preview.figure_caption, size=32, width=1080),
        font=_font(32),
        fill=MUTED,
    )
    done = max(0.0, min(100.0, preview.progress))
    draw.rectangle((60, 455, 1140, 485), fill=BAR_BACK)
    if done:
        draw.rectangle((60, 455, 60 + int(1080 * done / 100), 485), fill=ACCENT)
    y = 510
    for line in preview.lines[:2]:
        draw.text((60, y), _fit(draw, line, size=34, width=1080), font=_font(34), fill=INK)
        y += 48
    return image


def preview_path(root: Path, preview: Preview) -> Path:
    """The preview's PNG under `root` (the data directory's public/og), drawn if missing."""
    digest = preview.digest
    target = root / digest[:2] / f"{digest}.png"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
    try:
        with os.fdopen(handle, "wb") as out:
            draw_preview(preview).save(out, "PNG", optimize=True)
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return target
