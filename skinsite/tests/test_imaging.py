"""The shared image validator: every bad input the issue lists, and what a good photo becomes."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageCms, ImageFile

from diagnosis.tests import images
from skinsite.imaging import (
    ImageFormats,
    ImageLimits,
    InvalidImage,
    check_image,
    reencode,
    sniff_format,
    validate_image,
)


def reject(data: bytes | io.BytesIO | SimpleUploadedFile, **limits: int) -> InvalidImage:
    with pytest.raises(InvalidImage) as info:
        validate_image(data, limits=ImageLimits(**limits))
    # Every refusal carries a sentence for the person, not only a code.
    assert len(str(info.value.message)) > 10
    return info.value


def reopen(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_it_accepts_a_jpeg_and_stores_an_rgb_jpeg_and_a_square_thumbnail() -> None:
    result = validate_image(images.jpeg((320, 240)))

    assert result.image.mode == "RGB"
    assert result.image.size == (320, 240)
    assert result.source_format == "JPEG"
    stored = reopen(result.content)
    assert (stored.format, stored.size) == ("JPEG", (320, 240))
    thumb = reopen(result.thumbnail)
    assert (thumb.format, thumb.size) == ("JPEG", (256, 256))


def test_it_reads_an_uploaded_file_whatever_its_name_and_content_type() -> None:
    upload = SimpleUploadedFile("lesion.pdf", images.jpeg(), content_type="application/pdf")
    assert validate_image(upload).source_format == "JPEG"


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        b"<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>",
        b"\x00" * 5000,
    ],
    ids=["pdf", "html", "zeros"],
)
def test_it_rejects_a_non_image_renamed_to_jpg(content: bytes) -> None:
    upload = SimpleUploadedFile("photo.jpg", content, content_type="image/jpeg")
    assert reject(upload).code == "unsupported_format"


def test_it_rejects_an_empty_file() -> None:
    assert reject(SimpleUploadedFile("photo.jpg", b"", content_type="image/jpeg")).code == "empty"


def test_it_rejects_a_truncated_jpeg() -> None:
    data = images.jpeg((640, 480))
    assert reject(data[: len(data) // 2]).code == "corrupt"


def test_it_rejects_a_jpeg_cut_right_after_its_header() -> None:
    data = images.jpeg((640, 480))
    start_of_scan = data.index(b"\xff\xda")
    assert reject(data[: start_of_scan + 20]).code == "corrupt"


def test_it_rejects_a_1x1_png() -> None:
    error = reject(images.encode(Image.new("RGB", (1, 1)), "PNG"))
    assert error.code == "too_small"
    assert "1x1" in str(error.message)


def test_it_rejects_a_decompression_bomb_from_its_header_without_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bomb = images.png_bomb(20_000)
    assert len(bomb) < 1_000_000  # 400 megapixels in well under a megabyte

    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the pixels of a bomb must never be decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    assert reject(bomb).code == "too_many_pixels"


def test_the_pixel_limit_is_configurable() -> None:
    assert reject(images.jpeg((400, 300)), max_pixels=100_000).code == "too_many_pixels"


class CountingReader(io.BytesIO):
    """A file that counts how many bytes were asked of it."""

    bytes_read = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.bytes_read += len(chunk)
        return chunk


def test_it_rejects_a_50_mb_file_after_reading_one_byte_past_the_limit() -> None:
    head = images.jpeg((320, 240))
    fifty_mb = CountingReader(head + b"\x00" * (50 * 1024 * 1024 - len(head)))
    limit = 10 * 1024 * 1024

    error = reject(fifty_mb, max_bytes=limit)

    assert error.code == "too_large"
    assert "10 MB" in str(error.message)
    assert fifty_mb.bytes_read == limit + 1


def test_it_rejects_an_upload_whose_declared_size_is_over_the_limit_without_reading_it() -> None:
    upload = SimpleUploadedFile("big.jpg", images.jpeg() + b"\x00" * 2048)
    assert reject(upload, max_bytes=1024).code == "too_large"


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_it_rejects_an_animated_image(fmt: str) -> None:
    assert reject(images.animated(fmt)).code == "animated"


def test_it_accepts_a_still_gif() -> None:
    still = images.encode(images.picture((128, 128)).convert("P"), "GIF")
    assert validate_image(still).image.mode == "RGB"


def test_it_accepts_a_multi_picture_phone_jpeg_using_its_first_picture() -> None:
    first = images.halves((320, 160))
    data = images.encode(first, "MPO", save_all=True, append_images=[images.picture((160, 80))])
    assert Image.open(io.BytesIO(data)).format == "MPO"

    result = validate_image(data)

    assert result.image.size == (320, 160)
    assert result.image.getpixel((10, 80))[0] > 200  # the red half of the first picture


def test_it_converts_a_cmyk_jpeg_to_rgb() -> None:
    cyan = Image.new("CMYK", (200, 150), (255, 0, 0, 0))
    result = validate_image(images.encode(cyan, "JPEG", quality=95))

    assert result.image.mode == "RGB"
    red, green, blue = result.image.getpixel((100, 75))
    assert red < 40 and green > 215 and blue > 215


def test_it_converts_a_cmyk_jpeg_through_its_colour_profile_when_it_has_one() -> None:
    # An sRGB profile on a CMYK picture does not match: the plain conversion is used instead.
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cyan = Image.new("CMYK", (200, 150), (255, 0, 0, 0))
    data = images.encode(cyan, "JPEG", quality=95, icc_profile=profile)
    assert validate_image(data).image.getpixel((100, 75))[0] < 40


def test_it_scales_a_16_bit_grey_png_to_8_bits_instead_of_clipping_it() -> None:
    mid_grey = Image.new("I;16", (100, 100), 32768)
    data = images.encode(mid_grey, "PNG")
    assert Image.open(io.BytesIO(data)).mode.startswith("I")

    value = validate_image(data).image.getpixel((50, 50))

    assert all(120 <= channel <= 136 for channel in value)


def test_it_reads_a_16_bit_rgb_png() -> None:
    # Each pixel: red 0xFFFF, green 0x8000, blue 0x0000, big-endian.
    row = b"\x00" + b"\xff\xff\x80\x00\x00\x00" * 80
    data = images.png_raw(80, 80, bit_depth=16, colour_type=2, rows=row * 80)

    red, green, blue = validate_image(data).image.getpixel((40, 40))

    assert red > 245 and 120 <= green <= 136 and blue < 10


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_it_flattens_transparency_on_white(mode: str) -> None:
    img = Image.new("RGBA", (100, 100), (255, 0, 0, 255))
    img.paste((0, 0, 0, 0), (50, 0, 100, 100))  # right half fully transparent
    source = img.convert(mode) if mode != "P" else img.convert("P", palette=Image.Palette.ADAPTIVE)
    if mode == "P":
        source.info["transparency"] = source.getpixel((75, 50))
    result = validate_image(images.encode(source, "PNG"))

    assert result.image.getpixel((75, 50)) == (255, 255, 255)
    assert result.image.getpixel((25, 50)) != (255, 255, 255)


def test_it_stores_a_photo_with_exif_rotation_upright() -> None:
    # Stored sideways (red left, blue right) with "rotate 90° clockwise to display".
    exif = images.exif_with_gps_and_orientation(6)
    data = images.encode(images.halves((200, 100)), "JPEG", quality=95, exif=exif)

    result = validate_image(data)

    assert result.image.size == (100, 200)
    assert result.image.getpixel((50, 20))[0] > 200  # red on top
    assert result.image.getpixel((50, 180))[2] > 200  # blue at the bottom
    stored = reopen(result.content)
    assert stored.size == (100, 200)
    assert stored.getexif().get(0x0112) is None


def test_it_strips_gps_and_every_other_metadata() -> None:
    exif = images.exif_with_gps_and_orientation(1)
    assert exif.get_ifd(0x8825)  # the input really has GPS tags
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    data = images.encode(
        images.picture((400, 300)),
        "JPEG",
        exif=exif,
        icc_profile=profile,
        xmp=xmp,
        comment=b"secret comment",
    )

    result = validate_image(data)

    for encoded in (result.content, result.thumbnail):
        stored = reopen(encoded)
        assert not stored.getexif()
        assert not stored.getexif().get_ifd(0x8825)
        assert not {"exif", "icc_profile", "xmp", "comment"} & set(stored.info)
        for marker in (b"Exif", b"GPS", b"Phone", b"xmpmeta", b"secret", b"ICC_PROFILE"):
            assert marker not in encoded


def test_it_reads_an_iphone_heic_photo_turned_once_and_without_its_metadata() -> None:
    # HEIF carries its rotation in the container (irot/imir), which libheif applies while
    # decoding; pillow-heif then resets the EXIF orientation to 1. The picture pillow-heif
    # writes here is upright once decoded, so turning it again by its EXIF tag would be wrong.
    exif = images.exif_with_gps_and_orientation(6)
    data = images.heic(images.halves((256, 128)), exif=exif)
    assert Image.open(io.BytesIO(data)).format == "HEIF"

    result = validate_image(data)

    assert result.source_format == "HEIF"
    assert result.image.size == (256, 128)
    assert result.image.getpixel((20, 64))[0] > 180  # red on the left, as it was saved
    assert result.image.getpixel((236, 64))[2] > 180
    stored = reopen(result.content)
    assert not stored.getexif()
    assert b"GPS" not in result.content


def test_it_decodes_a_12_megapixel_jpeg_in_draft_mode_within_the_stored_bound() -> None:
    data = images.jpeg((4032, 3024))

    result = validate_image(data)

    # 1/4 scale while decoding: 1008x756, already inside 1024, so no resampling at all.
    assert result.image.size == (1008, 756)
    assert result.source_size == (4032, 3024)


@pytest.mark.parametrize(
    ("size", "stored"),
    [((2048, 1536), (1024, 768)), ((4608, 3456), (1024, 768)), ((1500, 3000), (512, 1024))],
)
def test_the_stored_copy_is_bounded_by_its_longest_side(
    size: tuple[int, int], stored: tuple[int, int]
) -> None:
    assert validate_image(images.jpeg(size)).image.size == stored


def test_a_big_png_is_shrunk_to_the_stored_bound() -> None:
    data = images.encode(images.picture((3000, 2000)), "PNG")
    assert validate_image(data).image.size == (1024, 683)


def test_a_gif_whose_second_frame_is_cut_short_is_refused_as_damaged() -> None:
    # Found by the fuzz test: asking whether the GIF is animated reads the next frame's
    # colour table, which Pillow indexes past its end (IndexError) when the file stops there.
    gif = images.encode(images.picture((80, 80)).convert("P"), "GIF")
    next_frame = b"!\xf9\x04\x01\x00\x00+\x00" + b",\x00\x00\x00\x00P\x00P\x00\x85\x00"
    with pytest.raises(InvalidImage) as refused:
        validate_image(gif.removesuffix(b";") + next_frame)
    assert refused.value.code == "corrupt"


WEB_ONLY = ImageFormats(("JPEG", "PNG", "WEBP"), "Send a JPEG, PNG or WebP image.")


def test_a_caller_names_its_own_formats_and_its_own_refusal() -> None:
    photo = images.heic(images.picture((200, 150)))
    assert validate_image(photo).source_format == "HEIF"

    with pytest.raises(InvalidImage) as refused:
        validate_image(photo, formats=WEB_ONLY)

    assert refused.value.code == "unsupported_format"
    assert refused.value.message == "Send a JPEG, PNG or WebP image."


def test_check_image_decodes_every_pixel_and_leaves_the_file_at_its_start() -> None:
    upload = io.BytesIO(images.encode(images.picture((200, 150)), "PNG"))
    assert check_image(upload, limits=ImageLimits(), formats=WEB_ONLY) == "PNG"
    assert upload.tell() == 0

    data = images.jpeg((640, 480))
    with pytest.raises(InvalidImage) as refused:
        check_image(data[: len(data) // 2], limits=ImageLimits(), formats=WEB_ONLY)
    assert refused.value.code == "corrupt"


def test_sniff_format_reads_the_header_only_and_answers_none_for_other_formats() -> None:
    assert sniff_format(io.BytesIO(images.jpeg()), WEB_ONLY) == "JPEG"
    assert sniff_format(io.BytesIO(images.heic(images.picture())), WEB_ONLY) is None
    assert sniff_format(io.BytesIO(b"<html></html>"), WEB_ONLY) is None


def test_reencode_keeps_the_format_turns_the_picture_upright_and_drops_the_metadata() -> None:
    data = images.encode(
        images.halves((200, 100)), "JPEG", quality=95, exif=images.exif_with_gps_and_orientation(6)
    )

    stored = reopen(reencode(io.BytesIO(data), WEB_ONLY))

    assert (stored.format, stored.size) == ("JPEG", (100, 200))
    assert not stored.getexif()
    top, bottom = stored.getpixel((50, 5)), stored.getpixel((50, 195))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 > bottom[0]  # the red left half is now on top
