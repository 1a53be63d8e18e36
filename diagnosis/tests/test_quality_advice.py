"""The browser's copy of the worker's quality checks is fed from the one definition.

``diagnosis/static/diagnosis/quality.js`` holds the algorithm only: the limits come from
``mltrain.ml.quality.limits`` for the active model and the advice from ``outcomes``, both
rendered into the upload and camera pages with ``json_script``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation

from diagnosis.outcomes import browser_quality_messages
from mltrain.ml import quality
from mltrain.ml.artifacts import load_manifest

QUALITY_JS = Path(settings.BASE_DIR) / "diagnosis" / "static" / "diagnosis" / "quality.js"


def json_script(html: str, element_id: str) -> Any:
    match = re.search(
        rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S
    )
    assert match, f"no json_script {element_id!r} on the page"
    return json.loads(match.group(1))


@pytest.mark.parametrize("page", ["diagnosis:upload", "diagnosis:camera"])
@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_page_carries_the_workers_quality_limits_for_the_active_model_and_its_advice(
    browser: Client, active_model: Any, page: str, language: str
) -> None:
    response = browser.get(reverse(page), headers={"accept-language": language})
    assert response.status_code == 200
    html = response.content.decode()
    input_size = load_manifest(active_model.path).input_size
    expected = quality.limits(quality.min_side_for(input_size))
    assert json_script(html, "quality-limits") == expected
    assert expected["minSide"] == round(input_size * quality.MIN_SIDE_FRACTION)
    with translation.override(language):
        assert json_script(html, "quality-messages") == browser_quality_messages()
    assert json_script(html, "quality-messages").keys() == {str(i) for i in quality.QualityIssue}
    assert "diagnosis/quality.js" in html


def test_an_unreadable_manifest_falls_back_to_the_default_models_limits(
    browser: Client, active_model: Any
) -> None:
    from diagnosis import inference

    (Path(active_model.path) / "manifest.json").write_text("not json")
    inference._input_sizes.clear()
    html = browser.get(reverse("diagnosis:upload")).content.decode()
    assert json_script(html, "quality-limits") == quality.limits(quality.min_side_for(160))


def test_quality_js_checks_in_the_workers_order_with_the_pages_limits_only() -> None:
    source = QUALITY_JS.read_text()
    order = re.findall(r'issue = "(too_small|too_dark|overexposed|blurred)"', source)
    assert order == [str(issue) for issue in quality.QualityIssue]
    for key in quality.limits(120):
        assert f"limits.{key}" in source, f"quality.js ignores the page's {key}"
    code = re.sub(r"//.*", "", source)
    for value in ("256", "40", "0.4", "250", "8", "120"):
        assert not re.search(rf"(?<![\w.]){re.escape(value)}(?![\w.])", code), (
            f"quality.js holds a limit of its own ({value})"
        )
    # Pillow's convert("L") weights (299/1000, 587/1000, 114/1000 in its 16-bit fixed point).
    assert "* 19595" in code and "* 38470" in code and "* 7471" in code
