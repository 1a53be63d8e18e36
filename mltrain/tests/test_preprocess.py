from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

from mltrain.ml.data import ImageDataset, load_dataset
from mltrain.ml.preprocess import IMAGENET_MEAN, IMAGENET_STD, preprocess
from mltrain.ml.transforms import EvalTransform, train_transform


def test_preprocess_squashes_the_whole_image_and_normalises():
    image = Image.new("RGBA", (300, 100), (255, 0, 0, 128))
    array = preprocess(image, input_size=64, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert array.shape == (3, 64, 64)
    assert array.dtype == np.float32
    np.testing.assert_allclose(array[0], (1 - 0.485) / 0.229, rtol=1e-6)
    np.testing.assert_allclose(array[1], (0 - 0.456) / 0.224, rtol=1e-6)


def test_the_training_evaluation_transform_gives_the_same_tensor_as_preprocess(
    manifest_data: Path,
):
    listing = load_dataset(manifest_data)
    dataset = ImageDataset(listing.records[:5], EvalTransform(40, IMAGENET_MEAN, IMAGENET_STD))
    reference = T.Compose(
        [
            T.Resize((40, 40), interpolation=T.InterpolationMode.BILINEAR),
            T.ToTensor(),
            T.Normalize(IMAGENET_MEAN, IMAGENET_STD),
        ]
    )
    for index, record in enumerate(listing.records[:5]):
        tensor, label = dataset[index]
        with Image.open(record.path) as image:
            served = preprocess(image, input_size=40, mean=IMAGENET_MEAN, std=IMAGENET_STD)
            torchvision_tensor = reference(image.convert("RGB"))
        assert label == record.label
        assert torch.equal(tensor, torch.from_numpy(served))
        torch.testing.assert_close(tensor, torchvision_tensor, atol=1e-5, rtol=0)


def test_training_augmentations_keep_the_shape():
    image = Image.new("RGB", (200, 150), (120, 80, 60))
    for augment in ("reference", "strong", "none"):
        out = train_transform(augment, 48, (0.5,) * 3, (0.5,) * 3)(image)
        assert tuple(out.shape) == (3, 48, 48)


def _smooth_jpeg(size: tuple[int, int]) -> bytes:
    import io

    x = np.linspace(0, 1, size[0], dtype=np.float32)
    y = np.linspace(0, 1, size[1], dtype=np.float32)[:, None]
    pixels = np.stack([x + 0 * y, y + 0 * x, (x + y) / 2], axis=-1) * 255
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype(np.uint8)).save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


def test_a_large_jpeg_is_decoded_at_a_reduced_scale_that_still_covers_the_input():
    import io

    data = _smooth_jpeg((1024, 768))
    drafted = Image.open(io.BytesIO(data))
    fast = preprocess(drafted, input_size=160, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert drafted.size == (512, 384)  # 1/2 scale: the smallest that keeps both sides >= 320
    full = Image.open(io.BytesIO(data))
    full.load()  # already decoded: draft mode no longer applies
    reference = preprocess(full, input_size=160, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert full.size == (1024, 768)
    # About one grey level (1/255 is 0.017 in these units) on a smooth picture.
    assert np.abs(fast - reference).mean() < 0.02


def test_images_under_four_times_the_input_size_are_decoded_in_full():
    import io

    image = Image.open(io.BytesIO(_smooth_jpeg((600, 450))))
    preprocess(image, input_size=160, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    assert image.size == (600, 450)
