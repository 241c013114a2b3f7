"""Checking and decoding snapshots with Pillow.

Snapshots come from devices on the network and are treated as hostile:
the header is checked against the pixel limit before any pixel is
decoded, and the whole image is then decoded so that a truncated file is
caught here rather than in the detector.
"""

import io
import warnings

from PIL import ExifTags, Image, ImageDraw, ImageOps

JPEG_QUALITY = 90


class InvalidImage(ValueError):
    pass


def check_snapshot(data: bytes, max_pixels: int) -> Image.Image:
    """Open data as a JPEG, refusing anything unsafe or broken.

    The returned image is decoded at a reduced scale: cheap, and still
    enough to read every byte of the compressed data.
    """
    image = _open(data, max_pixels, formats=("JPEG",))
    image.draft("RGB", (image.width // 8 or 1, image.height // 8 or 1))
    _load(image)
    return image


def load_snapshot(
    data: bytes, max_pixels: int, formats: tuple[str, ...] = ("JPEG",)
) -> Image.Image:
    """Decode a snapshot fully, upright and in RGB."""
    image = _open(data, max_pixels, formats)
    _load(image)
    upright = image if is_upright(image) else ImageOps.exif_transpose(image)
    return upright if upright.mode == "RGB" else upright.convert("RGB")


def encode_jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


def blank_outside(
    image: Image.Image,
    polygon: list[tuple[float, float]],
    box: tuple[int, int, int, int],
) -> Image.Image:
    """Crop box out of image and grey out what lies outside polygon.

    The polygon is in pixels of the whole image.
    """
    left, top, right, bottom = box
    crop = image.crop(box)
    mask = Image.new("L", crop.size, 0)
    shifted = [(x - left, y - top) for x, y in polygon]
    ImageDraw.Draw(mask).polygon(shifted, fill=255)
    background = Image.new("RGB", crop.size, (128, 128, 128))
    return Image.composite(crop, background, mask)


def _open(data: bytes, max_pixels: int, formats: tuple[str, ...]) -> Image.Image:
    if not data:
        raise InvalidImage("the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=formats)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InvalidImage("the image is too large (a decompression bomb?)")
    except Image.UnidentifiedImageError:
        names = " or ".join(formats)
        raise InvalidImage(f"the file is not a {names} image")
    except (OSError, ValueError, SyntaxError) as error:
        raise InvalidImage(f"the image cannot be read: {error}")
    width, height = image.size
    if width < 1 or height < 1:
        raise InvalidImage("the image has no pixels")
    if width * height > max_pixels:
        raise InvalidImage(
            f"the image has {width}x{height} pixels, more than the limit of "
            f"{max_pixels}"
        )
    return image


def _load(image: Image.Image) -> None:
    try:
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
        raise InvalidImage(f"the image is truncated or corrupt: {error}")


def is_upright(image: Image.Image) -> bool:
    """Whether the pixels are stored the way up they are to be seen."""
    return image.getexif().get(ExifTags.Base.Orientation, 1) in (0, 1)
