"""Session-wide fixtures: isolated data dir, shared data paths, one Ray instance per session."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from cluster import numba_cache

# before any kernel module is imported: NUMBA_CACHE_DIR (a base, e.g. set by `make test`; else the
# same temp base `make test` uses, never the user's cache) becomes <base>/<digest of the kernel
# sources>, so an edited helper never runs as stale cached code
os.environ.setdefault(
    "NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "fractal-test" / "numba-cache")
)
numba_cache.configure()

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
    for name in ("BINANCE", "BYBIT", "OKX"):  # exchange keys of the developer's shell
        for part in ("API_KEY", "API_SECRET", "API_PASSWORD"):
            monkeypatch.delenv(f"{name}_{part}", raising=False)
    monkeypatch.chdir(tmp_path)  # a stray `.env` in the checkout must not leak into tests
    return data_dir


@pytest.fixture(scope="session")
def ray_session() -> Iterator[object]:
    """One local Ray for the whole test session (research sweeps); no test starts its own.
    Started through cluster.ray_runtime after this init, ensure_ray() reuses it."""
    import ray

    from cluster.ray_runtime import EMBEDDED_SYSTEM_CONFIG

    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    # address="local": never join a cluster Ray recorded in /tmp/ray (another session's `ray start`)
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True, _system_config=dict(EMBEDDED_SYSTEM_CONFIG))  # fmt: skip
    yield ray
    workers = _session_workers(ray)
    ray.shutdown()
    _reap(workers)


def _session_workers(ray: object) -> list[object]:
    """The session raylet's descendants (actor and idle workers, agents). Ray's shutdown ends
    them with the raylet, but a worker can outlive it as an orphan: seen once in three
    `make test` runs (a `ray::PortfolioRisk` with PPID 1, 45 minutes later)."""
    import psutil

    try:
        raylet = ray._private.worker._global_node.all_processes["raylet"][0]  # type: ignore[attr-defined]
        return list(psutil.Process(raylet.process.pid).children(recursive=True))
    except Exception:  # noqa: BLE001 - a private API: if it moved, nothing is reaped
        return []


def _reap(procs: list[object], grace_s: float = 10.0) -> None:
    """Kill whatever of ``procs`` is still alive ``grace_s`` after the shutdown (by pid, with
    psutil's check that the pid still names the same process)."""
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=grace_s)  # type: ignore[arg-type]
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            proc.kill()
    psutil.wait_procs(alive, timeout=5)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip `testnet` tests unless credentials are present; skip `causality` tests unless numba
    checks bounds (without it a kernel reading bar i + 1 of a prefix copy reads stray memory, so
    neither a pass nor the negative controls would mean anything; `make test` runs them)."""
    skip_testnet = pytest.mark.skip(reason="testnet credentials (HL_TESTNET_PRIVATE_KEY) not set")
    skip_causality = pytest.mark.skip(
        reason="prefix tests need NUMBA_BOUNDSCHECK=1 and their own numba cache: "
        "`make test-causality` (part of `make test`)"
    )
    testnet = bool(os.environ.get("HL_TESTNET_PRIVATE_KEY"))
    checked = numba_cache.boundscheck()
    for item in items:
        marker = item.get_closest_marker("testnet")
        env = marker.kwargs.get("env") if marker is not None else None
        if env:  # a venue with its own credentials (CCXT exchanges): skip without those
            missing = [name for name in env if not os.environ.get(name)]
            if missing:
                item.add_marker(pytest.mark.skip(reason=f"{', '.join(missing)} not set"))
        elif "testnet" in item.keywords and not testnet:
            item.add_marker(skip_testnet)
        if "causality" in item.keywords and not checked:
            item.add_marker(skip_causality)
