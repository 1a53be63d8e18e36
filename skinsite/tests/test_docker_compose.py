"""docker-compose.yml cannot be run here (no Docker engine), so validate its structure."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(:?[-?][^}]*)?\}")


def load() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def test_it_has_the_production_services_with_health_checks() -> None:
    services = load()["services"]
    assert {"web", "worker", "redis", "postgres"} <= set(services)
    for name in ("web", "worker", "redis", "postgres"):
        assert "test" in services[name]["healthcheck"], name
    assert "gunicorn" in services["web"]["command"]
    assert "--queues inference" in services["worker"]["command"]


def test_references_resolve() -> None:
    compose = load()
    services, volumes = compose["services"], set(compose["volumes"])
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            assert source in volumes or source.startswith((".", "/")), f"{name}: {source}"


def test_media_and_database_are_on_volumes() -> None:
    services = load()["services"]
    assert any(m.startswith("media:") for m in services["web"]["volumes"])
    assert services["web"]["volumes"] == services["worker"]["volumes"]
    assert any("/var/lib/postgresql/data" in m for m in services["postgres"]["volumes"])


def test_gpu_worker_reserves_an_nvidia_device_and_uses_torch_on_cuda() -> None:
    gpu = load()["services"]["worker-gpu"]
    device = gpu["deploy"]["resources"]["reservations"]["devices"][0]
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert gpu["environment"]["INFERENCE_DEVICE"] == "cuda"
    assert gpu["environment"]["INFERENCE_BACKEND"] == "torch"


def test_every_interpolation_is_well_formed() -> None:
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    dollars = text.count("${")
    assert dollars == len(INTERPOLATION.findall(text))
    assert "SECRET_KEY:?" in text  # refuses to start without a secret
