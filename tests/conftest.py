"""Session-wide fixtures: isolated data dir and shared data paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SHARED_DATA_DIR", PROJECT_ROOT.parent / "shared" / "data"))
MARKET = SHARED / "market"
SMC_REFERENCE = SHARED / "smc_reference"
HL_RECORDED = SHARED / "hyperliquid_recorded"

# Hypothesis keeps no example database in the checkout (tests write only to temp dirs).
settings.register_profile(
    "fractal", database=None, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("fractal")


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test writes under its own FRACTAL_DATA_DIR, never into the checkout."""
    data_dir = tmp_path / "fractal-data"
    monkeypatch.setenv("FRACTAL_DATA_DIR", str(data_dir))
    monkeypatch.setenv("SHARED_DATA_DIR", str(SHARED))
    monkeypatch.delenv("PRIVATE_KEY", raising=False)
    monkeypatch.delenv("NETWORK", raising=False)
    monkeypatch.chdir(tmp_path)  # a stray `.env` in the checkout must not leak into tests
    return data_dir


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `testnet` tests unless credentials are present."""
    if os.environ.get("HL_TESTNET_PRIVATE_KEY"):
        return
    skip = pytest.mark.skip(reason="testnet credentials (HL_TESTNET_PRIVATE_KEY) not set")
    for item in items:
        if "testnet" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ray_session() -> Iterator[object]:
    """One local Ray instance for the whole test session (never one per test); the live-system
    tests (tests/live/) use it."""
    import ray

    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    yield ray
    ray.shutdown()
