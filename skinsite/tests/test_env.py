"""The typed environment readers: a bad value fails at start-up naming the variable."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured

from skinsite.env import env_device, env_float, env_rate


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, "cpu"), ("cpu", "cpu"), ("cuda", "cuda"), ("CUDA:1", "cuda:1"),
                          ("mps", "mps")],
)  # fmt: skip
def test_a_device_is_cpu_cuda_cuda_n_or_mps(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("INFERENCE_DEVICE", raising=False)
    else:
        monkeypatch.setenv("INFERENCE_DEVICE", raw)
    assert env_device("INFERENCE_DEVICE", "cpu") == expected


@pytest.mark.parametrize("raw", ["gpu", "cuda:", "cuda:x", "cuda0", "tpu"])
def test_any_other_device_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("INFERENCE_DEVICE", raw)
    with pytest.raises(ImproperlyConfigured, match="INFERENCE_DEVICE"):
        env_device("INFERENCE_DEVICE", "cpu")


@pytest.mark.parametrize(("raw", "expected"), [(None, 0.2), ("0.01", 0.01), ("1", 1.0)])
def test_a_threshold_in_range_is_read(monkeypatch, raw, expected):
    if raw is None:
        monkeypatch.delenv("DIAGNOSIS_URGENT_THRESHOLD", raising=False)
    else:
        monkeypatch.setenv("DIAGNOSIS_URGENT_THRESHOLD", raw)
    assert env_float("DIAGNOSIS_URGENT_THRESHOLD", 0.2, above=0, at_most=1) == expected


@pytest.mark.parametrize("raw", ["0", "-0.1", "1.01", "nan", "inf", "high"])
def test_a_threshold_out_of_range_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DIAGNOSIS_URGENT_THRESHOLD", raw)
    with pytest.raises(ImproperlyConfigured, match="DIAGNOSIS_URGENT_THRESHOLD"):
        env_float("DIAGNOSIS_URGENT_THRESHOLD", 0.2, above=0, at_most=1)


def test_one_email_code_timeout_sets_both_code_lifetimes(settings):
    assert settings.ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT == settings.EMAIL_CODE_TIMEOUT
    assert settings.ACCOUNT_PASSWORD_RESET_BY_CODE_TIMEOUT == settings.EMAIL_CODE_TIMEOUT


@pytest.mark.parametrize("raw", ["60/h/user", "5/m/ip,100/d/user", "1/10s/key", ""])
def test_a_rate_limit_in_allauths_syntax_is_read(monkeypatch, raw):
    monkeypatch.setenv("DIAGNOSIS_UPLOAD_RATE_LIMIT", raw)
    assert env_rate("DIAGNOSIS_UPLOAD_RATE_LIMIT", "60/h/user") == raw


@pytest.mark.parametrize("raw", ["lots", "60/hour/user", "60/h/person", "60"])
def test_a_malformed_rate_limit_names_the_variable(monkeypatch, raw):
    monkeypatch.setenv("DIAGNOSIS_UPLOAD_RATE_LIMIT", raw)
    with pytest.raises(ImproperlyConfigured, match="DIAGNOSIS_UPLOAD_RATE_LIMIT"):
        env_rate("DIAGNOSIS_UPLOAD_RATE_LIMIT", "60/h/user")
