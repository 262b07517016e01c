"""Thumbnails of evidence photos for the task page: a phone photo of several megabytes is
shown as a JPEG of at most 320 px (a few kilobytes), turned upright by its EXIF orientation
and without its metadata (no GPS position in the page's images).

Made on first request and kept next to the originals (`<evidence dir>/thumbs/ab/<sha>.jpg`);
they can be deleted at any time and are made again. An image Pillow cannot read, or one
larger than MAX_PIXELS, gets no thumbnail: the page shows the original instead.
"""

import logging
import os
import tempfile
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.services.evidence_files import EvidenceStore

log = logging.getLogger("seratus")

SIZE = 320
# Far beyond any camera (a 200 MP phone photo is 2e8): refuses decompression bombs early.
MAX_PIXELS = 250_000_000
QUALITY = 82


def thumbnail_path(store: EvidenceStore, sha256: str, *, size: int = SIZE) -> Path:
    original = store.path_of(sha256)  # validates the digest
    folder = "thumbs" if size == SIZE else f"thumbs-{size}"
    return store.root / folder / sha256[:2] / f"{original.name}.jpg"


def ensure_thumbnail(store: EvidenceStore, sha256: str, *, size: int = SIZE) -> Path | None:
    """The thumbnail of a stored image (at most `size` px a side), made now if missing; None
    when it cannot be made. Only pixels are copied: no EXIF, GPS, XMP or comment survives."""
    target = thumbnail_path(store, sha256, size=size)
    if target.is_file():
        return target
    try:
        with Image.open(store.path_of(sha256)) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                return None
            image.draft("RGB", (size * 2, size * 2))  # JPEG: decode at a reduced scale
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((size, size))
            thumb = _on_white(upright)
            target.parent.mkdir(parents=True, exist_ok=True)
            handle, temp_name = tempfile.mkstemp(dir=target.parent, suffix=".part")
            try:
                with os.fdopen(handle, "wb") as out:
                    thumb.save(out, "JPEG", quality=QUALITY, optimize=True)
                os.replace(temp_name, target)
            except BaseException:
                Path(temp_name).unlink(missing_ok=True)
                raise
    except Exception as exc:  # any unreadable image: the page shows the original instead
        level = (
            logging.INFO if isinstance(exc, (UnidentifiedImageError, OSError)) else logging.WARNING
        )
        log.log(level, "no thumbnail for %s: %r", sha256, exc)
        return None
    return target


def _on_white(image: Image.Image) -> Image.Image:
    """RGB for JPEG; transparent parts (PNG, WebP) become white rather than black."""
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
