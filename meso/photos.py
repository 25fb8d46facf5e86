"""Progress photos as bytes in, clean JPEGs out. Pure: no database, no request.

A phone's photo carries more than the picture: EXIF (the place it was taken, to the metre; the
phone's make and serial), XMP, maker notes, an embedded preview, an ICC profile. None of it
is needed to see the skin, so ``process`` keeps only the pixels: it decodes the file, turns it
upright, brings its colours to sRGB, and writes a new JPEG from the pixel data alone, at most
1600 px on its long side, with a 320 px thumbnail.

Files are recognised by what they contain, never by their name or declared type: JPEG, PNG and
HEIC/HEIF (the iPhone's camera format, read with pillow-heif). Anything else, anything too
large, too many pixels for its size (a "decompression bomb") or cut short is refused with a
PhotoError whose message a patient can act on.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l

if TYPE_CHECKING:
    from PIL import Image

MAX_BYTES = 15 * 1024 * 1024  # a photo as sent; a 48 MP HEIC from a phone is 3-8 MB
# A request carrying one photo: the file, plus the form around it (fields, boundaries).
MAX_BODY = MAX_BYTES + 64 * 1024
# Pixels decoded at most: a 48-50 MP phone camera fits, a small file claiming more is a bomb
# (decoding 64 MP as RGB takes ~190 MB; a JPEG is decoded at a reduced scale, far less).
MAX_PIXELS = 64_000_000
LONG_SIDE = 1600
THUMB_LONG_SIDE = 320
QUALITY, THUMB_QUALITY = 85, 80
CONTENT_TYPE = "image/jpeg"
# Pillow's names for what a patient may send; "HEIF" covers .heic and .heif (pillow-heif).
FORMATS = ("JPEG", "PNG", "HEIF")
# A file field's accept: the phone offers its camera and its photos, these types only.
ACCEPT = "image/jpeg,image/png,image/heic,image/heif"

TOO_LARGE = _l("This photo is larger than 15 MB. Please choose a smaller one.")
NOT_A_PHOTO = _l("This file is not a photo we can use. Please choose a JPEG, PNG or HEIC photo.")
EMPTY = _l("Choose a photo first.")
TOO_MANY_PIXELS = _l("This picture has too many pixels to use. Please choose a smaller one.")
DAMAGED = _l("This photo could not be read: the file may be damaged or incomplete. "
             "Please choose it again.")


class PhotoError(ValueError):
    """A photo refused; ``message`` (lazy, translated when shown) says what to do."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Processed:
    """A photo ready to store: a JPEG and its thumbnail, both with no metadata at all."""

    image: bytes
    thumbnail: bytes
    width: int
    height: int
    content_type: str = CONTENT_TYPE


def fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    """Scale (width, height) down so its long side is at most ``long_side``; never up."""
    width, height = size
    scale = min(1.0, long_side / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def thumbnail_size(width: int, height: int) -> tuple[int, int]:
    """The thumbnail's size for a stored photo of width x height (as process() makes it)."""
    return fit((width, height), THUMB_LONG_SIDE)


@cache
def _pillow() -> None:
    """Load Pillow and its HEIF opener with the first photo, not with the app: a web worker
    that never processes one (most of them, most of the time) stays ~12 MB smaller."""
    import pillow_heif

    pillow_heif.register_heif_opener()


def process(data: bytes) -> Processed:
    """Check a photo as sent and return it cleaned and resized; raise PhotoError otherwise."""
    from PIL import Image

    _pillow()
    if not data:
        raise PhotoError(EMPTY)
    if len(data) > MAX_BYTES:
        raise PhotoError(TOO_LARGE)
    image = _decode(data)
    image = _upright_srgb(image)
    image = image.resize(fit(image.size, LONG_SIDE), Image.Resampling.LANCZOS)
    thumb = image.resize(fit(image.size, THUMB_LONG_SIDE), Image.Resampling.LANCZOS)
    return Processed(image=_jpeg(image, QUALITY), thumbnail=_jpeg(thumb, THUMB_QUALITY),
                     width=image.width, height=image.height)


def _decode(data: bytes) -> Image.Image:
    """Open and fully decode the first frame, refusing what is not a complete, sane photo."""
    from PIL import Image, UnidentifiedImageError

    # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; make both a refusal,
    # and check our own, lower bound before a single pixel is decoded.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=FORMATS)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoError(TOO_MANY_PIXELS) from None
        except UnidentifiedImageError:
            raise PhotoError(NOT_A_PHOTO) from None
        except Exception:  # a header Pillow recognised but could not parse
            raise PhotoError(DAMAGED) from None
        if image.format not in FORMATS:
            raise PhotoError(NOT_A_PHOTO)
        if image.width * image.height > MAX_PIXELS:
            raise PhotoError(TOO_MANY_PIXELS)
        if image.format == "JPEG":
            # Decode at 1/2, 1/4 or 1/8 scale when that still covers LONG_SIDE: less memory.
            image.draft("RGB", (LONG_SIDE, LONG_SIDE))
        try:
            image.load()  # a truncated file raises here (LOAD_TRUNCATED_IMAGES stays off)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise PhotoError(TOO_MANY_PIXELS) from None
        except Exception:
            # Decoders raise OSError, SyntaxError, ValueError, EOFError... on broken input.
            raise PhotoError(DAMAGED) from None
    return image


def _upright_srgb(image: Image.Image) -> Image.Image:
    """Apply the EXIF orientation, flatten transparency onto white, convert to sRGB RGB."""
    from PIL import Image, ImageOps

    icc = image.info.get("icc_profile")
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        image = Image.new("RGB", rgba.size, "white")
        image.paste(rgba, mask=rgba.getchannel("A"))
    elif image.mode == "I;16" or image.mode == "I":
        # 16-bit greyscale PNG: Pillow's "to RGB" would clip it; scale to 8 bits first.
        image = image.point(lambda value: value / 256).convert("L")
    if icc and image.mode in ("RGB", "CMYK", "L"):
        image = _to_srgb(image, icc)
    return image.convert("RGB")


def _to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """Convert from the photo's own colour profile (an iPhone's is Display P3) to sRGB, so that
    dropping the profile does not wash the colours out. A broken profile is ignored."""
    from PIL import ImageCms

    try:
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        converted = ImageCms.profileToProfile(
            image, source, ImageCms.createProfile("sRGB"), outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError):
        return image
    return converted if converted is not None else image


def _jpeg(image: Image.Image, quality: int) -> bytes:
    """Encode only the pixels: a new image from raw RGB bytes has no info to carry over
    (no EXIF, XMP, ICC, comment or DPI), whatever Pillow would otherwise copy on save."""
    from PIL import Image

    bare = Image.frombytes("RGB", image.size, image.tobytes())
    out = io.BytesIO()
    bare.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
