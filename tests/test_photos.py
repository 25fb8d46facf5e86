"""meso/photos.py: photos checked by content, cleaned of every metadata block, turned upright,
resized; everything else refused with a message a patient can act on. Pure: no app needed."""

from __future__ import annotations

import pytest
from photo_helpers import (
    GPS_IFD,
    PDF,
    XMP,
    encode,
    heic,
    jpeg,
    noise_jpeg,
    opened,
    png,
    png_bomb,
    png_claiming,
    two_tone,
)
from PIL import Image, ImageCms

from meso import photos


def assert_bare_jpeg(data: bytes) -> Image.Image:
    """A JPEG with no metadata block at all: no EXIF (so no GPS), no XMP, no ICC, no comment."""
    image = opened(data)
    assert image.format == "JPEG"
    assert not image.getexif()  # empty: no tags whatever
    assert "exif" not in image.info
    assert not {"xmp", "XML:com.adobe.xmp", "icc_profile", "comment"} & set(image.info)
    assert not image.applist or [marker for marker, _ in image.applist] == ["APP0"]  # JFIF
    for leak in (b"Exif", b"GPS", b"PhoneMaker", b"adobe:ns:meta", b"ICC_PROFILE"):
        assert leak not in data
    return image


def red_is(image: Image.Image, where: str) -> bool:
    """Whether the red half of two_tone() is on that side now."""
    w, h = image.size
    point = {"left": (2, h // 2), "top": (w // 2, 2), "right": (w - 3, h // 2),
             "bottom": (w // 2, h - 3)}[where]
    r, _, b = image.convert("RGB").getpixel(point)
    return r > 200 and b < 60


def test_a_jpeg_with_gps_comes_back_with_no_exif_at_all():
    source = jpeg(gps=True)
    assert opened(source).getexif().get_ifd(GPS_IFD)  # the test photo does carry a location
    result = photos.process(source)
    assert_bare_jpeg(result.image)
    assert_bare_jpeg(result.thumbnail)
    assert result.content_type == "image/jpeg"


def test_xmp_and_an_icc_profile_are_dropped_too():
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    source = jpeg(gps=True, xmp=XMP, icc_profile=srgb, comment=b"PhoneMaker camera")
    assert {"xmp", "icc_profile", "comment"} <= set(opened(source).info)
    assert_bare_jpeg(photos.process(source).image)


@pytest.mark.parametrize(("orientation", "red"), [(1, "left"), (3, "right"), (6, "top"),
                                                  (8, "bottom")])
def test_the_exif_orientation_is_applied_to_the_pixels(orientation, red):
    result = photos.process(jpeg(size=(80, 40), orientation=orientation))
    image = assert_bare_jpeg(result.image)
    assert image.size == ((80, 40) if orientation in (1, 3) else (40, 80))
    assert red_is(image, red)


def test_a_large_photo_is_resized_to_1600_on_its_long_side_with_a_320_thumbnail():
    result = photos.process(jpeg(image=two_tone((3200, 2400))))
    assert (result.width, result.height) == (1600, 1200)
    assert opened(result.image).size == (1600, 1200)
    assert opened(result.thumbnail).size == (320, 240) == photos.thumbnail_size(1600, 1200)


def test_a_portrait_photo_keeps_its_shape_and_a_small_one_is_not_enlarged():
    portrait = photos.process(png(size=(1000, 2500)))
    assert (portrait.width, portrait.height) == (640, 1600)
    small = photos.process(png(size=(300, 200)))
    assert (small.width, small.height) == (300, 200)
    assert opened(small.thumbnail).size == (300, 200)


def test_fit():
    assert photos.fit((4000, 3000), 1600) == (1600, 1200)
    assert photos.fit((3000, 4000), 320) == (240, 320)
    assert photos.fit((100, 50), 1600) == (100, 50)
    assert photos.fit((10_000, 1), 320) == (320, 1)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "P", "L", "LA", "I;16"])
def test_png_in_any_mode_becomes_an_rgb_jpeg(mode):
    result = photos.process(png(mode=mode))
    assert assert_bare_jpeg(result.image).mode == "RGB"


def test_transparent_pixels_become_white_not_black():
    clear = encode(Image.new("RGBA", (20, 20), (0, 0, 0, 0)), "PNG")
    assert opened(photos.process(clear).image).getpixel((10, 10)) >= (250, 250, 250)


def test_heic_from_an_iphone_is_read_and_cleaned():
    source = heic(gps=True)
    assert source[4:12] == b"ftypheic"
    assert opened(source).getexif().get_ifd(GPS_IFD)
    result = photos.process(source)
    image = assert_bare_jpeg(result.image)
    assert image.size == (80, 40) and red_is(image, "left")


def test_the_name_does_not_matter_only_the_content():
    """process() never sees a name; a PNG is a PNG whatever it was called."""
    assert photos.process(png()).content_type == "image/jpeg"


@pytest.mark.parametrize(("data", "message"), [
    (PDF, photos.NOT_A_PHOTO),
    (b"GIF89a" + b"\0" * 100, photos.NOT_A_PHOTO),
    (encode(Image.new("RGB", (20, 20)), "GIF"), photos.NOT_A_PHOTO),
    (encode(Image.new("RGB", (20, 20)), "WEBP"), photos.NOT_A_PHOTO),
    (encode(Image.new("RGB", (20, 20)), "BMP"), photos.NOT_A_PHOTO),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", photos.NOT_A_PHOTO),
    (b"", photos.EMPTY),
])
def test_anything_but_jpeg_png_heic_is_refused_clearly(data, message):
    with pytest.raises(photos.PhotoError) as refused:
        photos.process(data)
    assert refused.value.message == message
    assert "JPEG, PNG or HEIC" in str(photos.NOT_A_PHOTO)


def test_a_truncated_jpeg_is_refused():
    whole = noise_jpeg(size=(400, 300))
    photos.process(whole)  # the whole file is fine
    with pytest.raises(photos.PhotoError) as refused:
        photos.process(whole[: len(whole) // 2])
    assert refused.value.message == photos.DAMAGED


def test_a_truncated_png_and_heic_are_refused():
    for whole in (encode(Image.frombytes("RGB", (50, 50), bytes(range(250)) * 30), "PNG"),
                  heic(size=(200, 100))):
        with pytest.raises(photos.PhotoError):
            photos.process(whole[: len(whole) * 2 // 3])


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    bomb = png_bomb()  # 10,000 x 10,000 pixels in about 100 KB
    assert len(bomb) < 200_000
    with pytest.raises(photos.PhotoError) as refused:
        photos.process(bomb)
    assert refused.value.message == photos.TOO_MANY_PIXELS


@pytest.mark.parametrize("side", [8_100, 30_000])  # under and over Pillow's own limits
def test_a_file_claiming_too_many_pixels_is_refused(side):
    assert side * side > photos.MAX_PIXELS
    with pytest.raises(photos.PhotoError) as refused:
        photos.process(png_claiming(side, side))
    assert refused.value.message == photos.TOO_MANY_PIXELS


def test_more_than_15_mb_is_refused_before_decoding():
    with pytest.raises(photos.PhotoError) as refused:
        photos.process(b"\xff\xd8\xff" + b"\0" * photos.MAX_BYTES)
    assert refused.value.message == photos.TOO_LARGE
