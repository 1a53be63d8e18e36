"""Photos that are not skin, to measure the gate: real ones that installed packages ship, and
generated ones (flat colour, noise, rendered text, a drawn web page). Made on the spot, never
copied into the repository.

Real photos come from scikit-image's ``skimage.data`` (a test requirement), scikit-learn's
``load_sample_images`` and matplotlib's sample data; each is used whole, mirrored, and with an
eighth cut off each side, so a score cannot hinge on one framing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

#: skimage.data photographs and scans that ship inside the package (no download).
SKIMAGE_NAMES = (
    "astronaut", "camera", "chelsea", "coffee", "coins", "horse", "hubble_deep_field",
    "immunohistochemistry", "moon", "page", "rocket", "text", "retina", "colorwheel", "logo",
    "brick", "grass", "gravel", "clock", "microaneurysms", "cell", "checkerboard",
)  # fmt: skip
MATPLOTLIB_NAMES = ("grace_hopper.jpg", "Minduka_Present_Blue_Pack.png", "logo2.png")


def _rgb(array: np.ndarray) -> Image.Image:
    if array.ndim == 2:
        array = np.stack([array] * 3, axis=-1)
    if array.dtype != np.uint8:
        top = float(array.max()) or 1.0
        array = (255 * (array.astype(np.float64) / top)).astype(np.uint8)
    return Image.fromarray(array[..., :3])


def real_photos() -> list[tuple[str, Image.Image]]:
    """Real non-skin photos from the installed packages ([] for a package that is absent)."""
    photos: list[tuple[str, Image.Image]] = []
    try:
        import skimage.data
    except ImportError:
        pass
    else:
        photos += [(f"skimage:{n}", _rgb(getattr(skimage.data, n)())) for n in SKIMAGE_NAMES]
    from sklearn.datasets import load_sample_images

    for index, array in enumerate(load_sample_images().images):
        photos.append((f"sklearn:{index}", _rgb(array)))
    import matplotlib

    sample = Path(matplotlib.get_data_path()) / "sample_data"
    for name in MATPLOTLIB_NAMES:
        if (sample / name).is_file():
            with Image.open(sample / name) as image:
                photos.append((f"matplotlib:{name}", image.convert("RGB")))
    return photos


def framings(photos: list[tuple[str, Image.Image]]) -> list[tuple[str, Image.Image]]:
    """Each photo whole, mirrored, and cropped by an eighth on every side."""
    out = []
    for name, image in photos:
        w, h = image.size
        out += [
            (name, image),
            (f"{name}:mirrored", image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)),
            (f"{name}:cropped", image.crop((w // 8, h // 8, w - w // 8, h - h // 8))),
        ]
    return out


def generated_photos(seed: int = 0) -> list[tuple[str, Image.Image]]:
    """Flat colours (one of them skin-toned), noise, rendered text and a drawn web page."""
    rng = np.random.default_rng(seed)
    colours = ((0, 0, 0), (255, 255, 255), (200, 30, 30), (224, 172, 140), (30, 60, 200))
    photos = [(f"flat:{c}", Image.new("RGB", (400, 300), c)) for c in colours]
    for index in range(2):
        noise = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
        photos.append((f"noise:{index}", Image.fromarray(noise)))
    page = Image.new("RGB", (600, 400), (255, 255, 255))
    draw = ImageDraw.Draw(page)
    for y in range(20, 380, 24):
        draw.text((20, y), "The quick brown fox jumps over the lazy dog 0123456789", fill=(0, 0, 0))
    photos.append(("text", page))
    photos.append(("screenshot", web_page_screenshot()))
    return photos


def web_page_screenshot() -> Image.Image:
    """A drawn stand-in for a screenshot: a navigation bar, headings, text lines, buttons."""
    image = Image.new("RGB", (1280, 800), (248, 249, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, 1280, 56), fill=(13, 110, 253))
    for x in range(40, 600, 120):
        draw.text((x, 20), "Menu item", fill=(255, 255, 255))
    draw.rectangle((100, 110, 760, 150), fill=(222, 226, 230))
    for y in range(190, 660, 22):
        draw.text(
            (100, y), "Lorem ipsum dolor sit amet, consectetur adipiscing elit.", fill=(33, 37, 41)
        )
    draw.rectangle((100, 690, 280, 734), fill=(25, 135, 84))
    draw.rectangle((860, 110, 1180, 560), outline=(173, 181, 189), width=2)
    return image
