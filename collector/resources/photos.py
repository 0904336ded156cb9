"""Photos of resources: only JPEG, PNG or WebP, checked by decoding (not by name or the
browser's word), at most MAX_BYTES and MAX_PIXELS, oriented, resized to MAX_SIDE and
re-encoded without any metadata, so EXIF GPS positions and camera details never leave."""

from __future__ import annotations

import io
import warnings

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 8 * 1024 * 1024
MAX_PIXELS = 40_000_000
MAX_SIDE = 1600
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/jpeg"}


class PhotoError(ValueError):
    """Not an acceptable photo; the message says why."""


def process(data: bytes) -> tuple[str, int, int, bytes]:
    """(mime, width, height, clean bytes) of an uploaded photo."""
    if not data:
        raise PhotoError("empty file")
    if len(data) > MAX_BYTES:
        raise PhotoError(f"larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(io.BytesIO(data))
            fmt = img.format or ""
            if fmt not in FORMATS:
                raise PhotoError("only JPEG, PNG or WebP photos")
            if img.width * img.height > MAX_PIXELS:
                raise PhotoError("too many pixels")
            img.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError,
            Image.DecompressionBombWarning, SyntaxError) as exc:
        raise PhotoError("not a readable image") from exc
    img = ImageOps.exif_transpose(img) or img  # keep the orientation the EXIF asked for, then drop it
    img.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if fmt == "PNG":
        img.save(out, "PNG", optimize=True)  # no pnginfo: text chunks are not carried over
        mime = "image/png"
    else:
        img.convert("RGB").save(out, "JPEG", quality=85)  # no exif= : nothing carried over
        mime = "image/jpeg"
    return mime, img.width, img.height, out.getvalue()
