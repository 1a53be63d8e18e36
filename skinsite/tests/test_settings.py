"""Settings come from the environment; production variables pass Django's deploy checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

PRODUCTION_ENV = {
    "SECRET_KEY": "x" * 64 + "-production-secret-for-the-deploy-check",
    "ALLOWED_HOSTS": "skin.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CACHE_URL": "redis://127.0.0.1:6379/1",
    "EMAIL_HOST": "smtp.example.org",
    "SECURE_HTTPS": "true",
    "DEBUG": "false",
}


def run_manage(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST"))}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_is_clean_with_production_variables(tmp_path: Path) -> None:
    env = {**PRODUCTION_ENV, "SKINSITE_VAR_DIR": str(tmp_path)}
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CELERY_TASK_TIME_LIMIT", "soon"),
        ("DEBUG", "maybe"),
        ("INFERENCE_BACKEND", "tensorflow"),
        ("CACHE_URL", "memcached://x"),
        ("INFERENCE_DEVICE", "gpu"),
        ("DIAGNOSIS_URGENT_THRESHOLD", "0"),
        ("DIAGNOSIS_URGENT_THRESHOLD", "1.5"),
        ("SKINSITE_ONNX_THREADS", "4"),
        ("DIAGNOSIS_UPLOAD_RATE_LIMIT", "lots"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    result = run_manage("check", env={"SKINSITE_VAR_DIR": str(tmp_path), name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_embedded_defaults_use_sqlite_under_var(tmp_path: Path) -> None:
    code = (
        "from django.conf import settings;"
        "print(settings.DATABASES['default']['ENGINE']);"
        "print(settings.DATABASES['default']['NAME']);"
        "print(settings.MEDIA_ROOT);"
        "print(settings.EMAIL_BACKEND)"
    )
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL", "EMAIL_HOST"}
    }
    result = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "skinsite.settings",
            "SKINSITE_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    engine, name, media, email = result.stdout.split()
    assert engine == "django.db.backends.sqlite3"
    assert name == str(tmp_path / "db.sqlite3")
    assert media == str(tmp_path / "media")
    assert email == "skinsite.mail.FramedConsoleEmailBackend"


def test_celery_does_not_lose_jobs() -> None:
    """The reliability settings the diagnosis queue depends on (see skinsite/settings.py)."""
    from skinsite.celery import app
    from skinsite.queues import Queue

    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_soft_time_limit and conf.task_time_limit
    assert conf.task_time_limit > conf.task_soft_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert conf.task_routes["diagnosis.tasks.classify_diagnosis"]["queue"] == Queue.INFERENCE
    assert conf.task_always_eager is False


def test_settings_name_the_queues_without_importing_the_celery_app() -> None:
    import ast

    import skinsite.settings

    tree = ast.parse(Path(skinsite.settings.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert "skinsite.queues" in imported
    assert "skinsite.celery" not in imported
