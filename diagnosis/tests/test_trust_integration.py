"""The trust outcomes end to end: a real Celery worker on the real Redis judges real photos
with the shipped model and its trust bundle, and the page says what the row says."""

from __future__ import annotations

import io
import time
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image, ImageFilter

from diagnosis import inference, services
from diagnosis.models import Diagnosis
from testing.photos import lesion_photo

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
SHARED_SKIN = REPO.parent / "shared" / "data" / "skin10" / "1. Eczema"


@pytest.fixture
def shipped_model(active_model: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The shipped default model (with its trust bundle) instead of the tiny test model."""
    from mltrain.services import (
        default_artifact_dirs,
        forget_active_model_version,
        register_model_version,
    )

    version = register_model_version(artifact_dir=default_artifact_dirs()[-1], activate=True)
    forget_active_model_version()
    monkeypatch.setattr(inference, "_loaded", None)  # the model loaded before is not this one
    return version


def jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=92)
    return out.getvalue()


def judged(user: Any, data: bytes) -> Diagnosis:
    row = services.submit_diagnosis(user=user, upload=data)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        row.refresh_from_db()
        if row.is_finished:
            assert row.status == Diagnosis.Status.SUCCEEDED, row.failure_detail
            return row
        time.sleep(0.1)
    pytest.fail("the worker did not finish the diagnosis")


def page(client: Client, row: Diagnosis, language: str = "en") -> str:
    client.cookies["django_language"] = language
    url = reverse("diagnosis:detail", args=[row.public_id])
    return client.get(url, HTTP_ACCEPT_LANGUAGE=language).content.decode()


def non_skin_photo() -> Image.Image:
    try:
        from skimage import data
    except ImportError:
        from mltrain.ml.trust.probes import web_page_screenshot

        return web_page_screenshot()
    return Image.fromarray(data.astronaut())


def test_a_photo_that_is_not_skin_gets_no_diagnosis(
    worker: Any, shipped_model: Any, person: Any, browser: Client, catalogue: dict[str, Any]
) -> None:
    row = judged(person, jpeg(non_skin_photo()))
    assert row.outcome == Diagnosis.Outcome.NOT_SKIN
    assert row.predictions == [] and row.top_class == "" and row.red_flag == ""
    assert row.gate_score is not None and row.gate_score > 0
    html = page(browser, row)
    assert "This does not look like a close-up photo of skin" in html
    assert "%" not in html.split('id="diagnosis-result"')[1].split("</main>")[0]
    assert not any(info.name("en") in html for info in catalogue.values())
    arabic = page(browser, row, "ar")
    assert "This does not look like a close-up photo of skin" not in arabic
    assert 'data-outcome="not_skin"' in arabic and 'dir="rtl"' in arabic


def test_a_blurred_photo_is_too_poor_to_judge(
    worker: Any, shipped_model: Any, person: Any, browser: Client
) -> None:
    blurred = Image.open(io.BytesIO(lesion_photo((800, 600), seed=2))).filter(
        ImageFilter.GaussianBlur(8)
    )
    row = judged(person, jpeg(blurred))
    assert row.outcome == Diagnosis.Outcome.POOR_QUALITY
    assert row.quality_issue == "blurred" and row.predictions == []
    html = page(browser, row)
    assert "This photo is too blurred to judge" in html and "Hold the phone steady" in html
    assert "This photo is too blurred to judge" not in page(browser, row, "ar")


def test_a_skin_photo_is_answered_with_its_photo_type_and_the_models_own_figure(
    worker: Any, shipped_model: Any, person: Any, browser: Client
) -> None:
    row = judged(person, lesion_photo((800, 600), seed=2))
    assert row.outcome in (Diagnosis.Outcome.ANSWERED, Diagnosis.Outcome.CANT_TELL)
    assert len(row.predictions) == 3 and row.photo_type in ("clinical", "dermoscopic")
    assert row.gate_score is not None
    html = page(browser, row)
    if row.outcome == Diagnosis.Outcome.ANSWERED:
        assert row.reference_accuracy is not None
        times = round(row.reference_accuracy * 10)
        assert f"right about {times} times in 10" in html
    else:
        assert "data-cant-tell" in html


def test_a_real_skin_photo_passes_the_gate(
    worker: Any, shipped_model: Any, person: Any, shared_dir: Path
) -> None:
    photo = sorted(SHARED_SKIN.glob("*.jpg"))[0]
    row = judged(person, photo.read_bytes())
    assert row.outcome in (Diagnosis.Outcome.ANSWERED, Diagnosis.Outcome.CANT_TELL)
    assert len(row.predictions) == 3
    assert row.photo_type == "clinical"  # a DermNet camera photo


def test_an_old_model_without_a_bundle_still_answers_and_says_the_gate_is_off(
    worker: Any, person: Any, browser: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines: list[str] = []
    warn = inference.logger.warning

    def record(message: str, *args: Any, **kwargs: Any) -> None:
        lines.append(message % args)
        warn(message, *args, **kwargs)

    monkeypatch.setattr(inference.logger, "warning", record)
    # The worker loaded the model at start-up, before the patch: it loads it again.
    monkeypatch.setattr(inference, "_loaded", None)
    row = judged(person, lesion_photo((800, 600), seed=2))
    assert any("no trust bundle" in line and "gate" in line for line in lines), lines
    assert row.outcome == Diagnosis.Outcome.ANSWERED and len(row.predictions) == 3
    assert row.photo_type == "" and row.reference_accuracy is None
    assert "times in 10" not in page(browser, row)


@pytest.fixture
def unsure_model(active_model: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The tiny test model with the shipped trust bundle, its can't-tell thresholds raised to
    0.99: the bundle works with any model version, and this one can tell nothing."""
    import json

    import numpy as np

    from mltrain.ml.trust.fit import write_bundle
    from mltrain.services import (
        default_artifact_dirs,
        forget_active_model_version,
        register_model_version,
    )

    shipped = default_artifact_dirs()[-1]
    config = json.loads((shipped / "trust.json").read_text(encoding="utf-8"))
    config["abstain_thresholds"] = {"clinical": 0.99, "dermoscopic": 0.99}
    with np.load(shipped / "trust.npz") as arrays:
        write_bundle(Path(active_model.path), config, dict(arrays), shipped / "gate.onnx")
    forget_active_model_version()
    monkeypatch.setattr(inference, "_loaded", None)
    return register_model_version(artifact_dir=Path(active_model.path), activate=True)


def test_a_photo_the_checker_cannot_tell_keeps_its_top3_folded_away(
    worker: Any, unsure_model: Any, person: Any, browser: Client
) -> None:
    row = judged(person, lesion_photo((800, 600), seed=2))
    assert row.outcome == Diagnosis.Outcome.CANT_TELL
    assert len(row.predictions) == 3 and row.photo_type
    html = page(browser, row)
    assert "data-cant-tell" in html and "tell what this is" in html
    assert "<details" in html and "data-top-class" not in html
    assert "times in 10" not in html
