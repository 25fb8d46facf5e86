"""meso/gzip_splice.py: pieces compressed once, values stored between them, read back by any
gzip reader as the text they make together."""

from __future__ import annotations

import gzip
import random
import zlib

import pytest

from meso import gzip_splice


def splice(pieces: list[bytes], values: list[bytes]) -> bytes:
    deflated = gzip_splice.compressed_pieces(pieces, [len(value) for value in values])
    return gzip_splice.body(pieces, deflated, values)


@pytest.mark.parametrize(("pieces", "values"), [
    ([b"<html>" * 500, b"</html>" * 300], [b"token-1234"]),
    ([b"", b"middle", b""], [b"first", b"last"]),  # a page that starts and ends with a value
    ([b"a", b"b"], [b""]),  # an empty value
    ([b"x" * 10, b"y" * 10], [bytes(range(256)) * 300]),  # a value over one stored block
    (["é€ 🌿".encode() * 100, "çà".encode()], ["Offline — 13:05".encode()]),
    ([b"only one piece"], []),
])
def test_a_spliced_body_is_the_text_its_pieces_and_values_make(pieces, values):
    data = splice(pieces, values)
    expected = b"".join(p + v for p, v in zip(pieces, [*values, b""], strict=True))
    assert gzip.decompress(data) == expected
    # And read as a stream, as a browser does (zlib's gzip mode checks CRC and length).
    reader = zlib.decompressobj(16 + zlib.MAX_WBITS)
    assert reader.decompress(data) == expected and reader.eof and not reader.unused_data


def test_the_constant_pieces_are_compressed_and_the_values_are_not():
    page = b"<p>the same text each time</p>" * 400
    data = splice([page, page], [b"A" * 40])
    assert len(data) < len(page) // 10
    assert b"A" * 40 in data  # stored as it is: nothing spent compressing it


def test_a_corrupted_body_is_refused_not_misread():
    data = bytearray(splice([b"abc" * 100, b"def"], [b"value"]))
    data[-8] ^= 0xFF  # the CRC-32
    with pytest.raises((OSError, zlib.error)):
        gzip.decompress(bytes(data))


def test_pieces_compressed_once_serve_any_values_of_the_same_lengths():
    """A piece refers back into the text before it, never into a value: other values of
    the same lengths (another token, another time) read back right."""
    rng = random.Random(7)
    words = [b"<li class=\"row\">", b"Avoid the sun", b"until", b"</li>", b"\n  ", b"heat"]
    pieces = [b"".join(rng.choice(words) for _ in range(rng.randrange(0, 400)))
              for _ in range(9)]
    lengths = [rng.randrange(0, 120) for _ in range(8)]
    deflated = gzip_splice.compressed_pieces(pieces, lengths)
    for _ in range(50):
        # Values made of the page's own words too: the worst case for a wrong reference.
        values = [b"".join(rng.choice(words) for _ in range(n))[:n].ljust(n, b"x")
                  for n in lengths]
        expected = b"".join(p + v for p, v in zip(pieces, [*values, b""], strict=True))
        assert gzip.decompress(gzip_splice.body(pieces, deflated, values)) == expected


def test_referring_back_makes_the_body_smaller_than_pieces_alone():
    rng = random.Random(3)
    text = bytes(rng.randrange(32, 127) for _ in range(3000))  # little to find within itself
    pieces = [text, text, text]  # much to find in the pieces before
    alone = [gzip_splice.compressed(piece) for piece in pieces]
    together = gzip_splice.compressed_pieces(pieces, [90, 32])
    assert sum(map(len, together)) < sum(map(len, alone)) * 0.5


def test_a_page_holding_a_nul_byte_is_compressed_piece_by_piece():
    pieces, values = [b"a\0b" * 50, b"a\0b" * 50], [b"\0\0\0\0"]
    deflated = gzip_splice.compressed_pieces(pieces, [4])
    assert deflated == [gzip_splice.compressed(piece) for piece in pieces]
    assert gzip.decompress(gzip_splice.body(pieces, deflated, values)) == (
        pieces[0] + values[0] + pieces[1])
