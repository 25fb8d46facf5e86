"""Test pictures made with Pillow (and pillow-heif for HEIC), and a patient's phone as a client,
for the photo, export and erasure tests."""

from __future__ import annotations

import io
import os
import zlib
from struct import pack

from PIL import Image
from staff_helpers import new_client

from meso import access
from meso import photos as _registers_heif  # noqa: F401 - pillow-heif's opener and saver
from meso.extensions import db
from meso.models import utcnow

# Rome's Colosseum, as a phone would write it into EXIF (GPS IFD 0x8825).
GPS_IFD = 0x8825
ORIENTATION = 0x0112
GPS = {1: "N", 2: (41.0, 53.0, 24.0), 3: "E", 4: (12.0, 29.0, 32.0)}
XMP = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/'
       b'22-rdf-syntax-ns#"><rdf:Description exif:GPSLatitude="41,53.4N" xmlns:exif='
       b'"http://ns.adobe.com/exif/1.0/"/></rdf:RDF></x:xmpmeta>')


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def two_tone(size=(80, 40)) -> Image.Image:
    """Red on the left half, blue on the right: where the red ends up shows the rotation."""
    image = Image.new("RGB", size, (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, size[0] // 2, size[1]))
    return image


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x0110] = "Phone 15"  # Model
    exif[GPS_IFD] = GPS
    if orientation is not None:
        exif[ORIENTATION] = orientation
    return exif


def jpeg(size=(80, 40), orientation: int | None = None, gps: bool = False,
         image: Image.Image | None = None, **options) -> bytes:
    """A JPEG, optionally with EXIF (GPS, make and model, orientation) and XMP."""
    image = image or two_tone(size)
    if gps or orientation is not None:
        options["exif"] = exif_with_gps(orientation) if gps else _orientation(orientation)
    return encode(image, "JPEG", quality=95, **options)


def _orientation(orientation) -> Image.Exif:
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    return exif


def png(size=(80, 40), mode="RGB") -> bytes:
    return encode(two_tone(size).convert(mode), "PNG")


def heic(size=(80, 40), gps: bool = False) -> bytes:
    """A HEIC as an iPhone sends it (pillow-heif's encoder), with GPS in its EXIF if asked."""
    options = {"exif": exif_with_gps().tobytes()} if gps else {}
    return encode(two_tone(size), "HEIF", quality=90, **options)


def noise_jpeg(size=(1200, 900), quality=92) -> bytes:
    """A JPEG that does not compress away (random pixels): big files in few lines."""
    image = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    return encode(image, "JPEG", quality=quality)


def _chunk(kind: bytes, data: bytes) -> bytes:
    return pack(">I", len(data)) + kind + data + pack(">I", zlib.crc32(kind + data))


def png_bomb(side: int = 10_000) -> bytes:
    """A real PNG of side x side black pixels: 100 MP by default, ~100 KB as a file."""
    packer = zlib.compressobj(9)
    row = b"\0" * (side + 1)  # filter byte, then one grey byte per pixel
    body = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    header = pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", body)
            + _chunk(b"IEND", b""))


def png_claiming(width: int, height: int) -> bytes:
    """A PNG header that claims width x height, with one row of data: a bomb's first bytes."""
    header = pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"\0" * (width + 1))) + _chunk(b"IEND", b""))


PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def patient_client(app, patient):
    """A phone holding a fresh device cookie of the patient (no invite landing involved)."""
    client = new_client(app)
    token = access.add_device(patient, utcnow())
    db.session.commit()
    client.set_cookie(app.config["DEVICE_COOKIE"], token)
    return client
