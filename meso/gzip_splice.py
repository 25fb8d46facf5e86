"""A gzip body made of pieces compressed once and a few bytes that differ per response.

A kept page (meso/patient/pages.py) is the same text each time but for a few short values (the
CSRF token, a form's fresh key, the time served). Compressing the whole page per response
cost more than everything else it took to serve it. Deflate (RFC 1951) allows another way:
each constant piece is compressed once and ends on a byte boundary (a sync flush); a value is
written between two such pieces as a stored, uncompressed block; an empty final block and the
gzip trailer (RFC 1952: CRC-32 and length) close the body. A decoder reads it as one ordinary
deflate stream, so any browser that accepts gzip reads it. A piece may refer back to the
constant text before it (deflate's window is the text read so far), never to a value, so its
compressed form holds for any values of the same lengths.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

# No file name, no time, "unknown" system (RFC 1952): the same ten bytes for every body.
HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
FINAL_BLOCK = b"\x01\x00\x00\xff\xff"  # an empty stored block marked final
STORED_MAX = 0xFFFF
WINDOW = 32 * 1024  # how far back deflate refers


def compressed(piece: bytes, history: bytes = b"", level: int = 9) -> bytes:
    """A constant piece as raw deflate blocks ending on a byte boundary (never final).

    ``history`` is what the reader will have read just before it, as far back as deflate
    looks (32 KiB), with every value blanked out as NUL bytes: the piece may then refer back
    to the constant text before it, at the right distance, but never into a value (a match
    stops at the first byte that differs, and the piece holds no NUL byte).
    """
    compressor = (zlib.compressobj(level, zlib.DEFLATED, -15, 9, zdict=history[-WINDOW:])
                  if history else zlib.compressobj(level, zlib.DEFLATED, -15, 9))
    return compressor.compress(piece) + compressor.flush(zlib.Z_SYNC_FLUSH)


def compressed_pieces(pieces: Sequence[bytes], value_lengths: Sequence[int]) -> list[bytes]:
    """Every piece ``compressed`` against the text before it, for values of these lengths
    (only then are the distances back right: a body with other lengths needs its own)."""
    assert len(pieces) == len(value_lengths) + 1
    if any(b"\0" in piece for piece in pieces):
        return [compressed(piece) for piece in pieces]  # a blank could match: each alone
    out, history = [], b""
    for piece, length in zip(pieces, [*value_lengths, 0], strict=True):
        out.append(compressed(piece, history))
        history = (history + piece + b"\0" * length)[-WINDOW:]
    return out


def stored(value: bytes) -> bytes:
    """A value as stored (uncompressed) deflate blocks, each at most 65,535 bytes."""
    blocks = []
    for start in range(0, len(value), STORED_MAX):
        chunk = value[start:start + STORED_MAX]
        blocks.append(b"\x00" + struct.pack("<HH", len(chunk), len(chunk) ^ 0xFFFF) + chunk)
    return b"".join(blocks)


def body(pieces: Sequence[bytes], deflated: Sequence[bytes], values: Sequence[bytes]) -> bytes:
    """The gzip body of ``pieces[0] + values[0] + pieces[1] + ... + pieces[-1]``, given
    ``compressed_pieces(pieces, [len(value) for value in values])`` in ``deflated``."""
    assert len(pieces) == len(deflated) == len(values) + 1
    out = [HEADER, deflated[0]]
    crc, size = zlib.crc32(pieces[0]), len(pieces[0])
    for value, piece, piece_deflated in zip(values, pieces[1:], deflated[1:], strict=True):
        out += [stored(value), piece_deflated]
        crc = zlib.crc32(piece, zlib.crc32(value, crc))
        size += len(value) + len(piece)
    out += [FINAL_BLOCK, struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)]
    return b"".join(out)
