"""cluster/ray_runtime.py: what --address means, and an unreachable head fails fast (exit 2)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from actors.placement import STATE_RESOURCE, Placement
from cluster.ray_runtime import (
    EMBEDDED_SYSTEM_CONFIG,
    RayAddressError,
    init_kwargs,
    parse_address,
    probe,
)


@pytest.mark.parametrize(
    ("text", "env", "kind", "target"),
    [
        (None, {}, "local", "local"),
        ("local", {"RAY_ADDRESS": "10.0.0.5:6379"}, "local", "local"),  # explicit beats the env
        (None, {"RAY_ADDRESS": "10.0.0.5:6379"}, "job", "10.0.0.5:6379"),  # a job's entrypoint
        (None, {"RAY_ADDRESS": "auto"}, "job", "auto"),
        ("auto", {}, "auto", "auto"),
        ("127.0.0.1:6379", {"RAY_ADDRESS": "10.0.0.5:1"}, "remote", "127.0.0.1:6379"),
        ("head.example.com:10001", {}, "remote", "head.example.com:10001"),
    ],
)
def test_address_forms(text: str | None, env: dict[str, str], kind: str, target: str) -> None:
    addr = parse_address(text, env)
    assert (addr.kind, addr.target) == (kind, target)
    assert addr.joins_cluster == (kind != "local")


@pytest.mark.parametrize("text", ["head", "head:", ":6379", "head:0", "head:70000",
                                  "http://head:8265", "head:6379/x"])  # fmt: skip
def test_malformed_addresses_are_refused(text: str) -> None:
    with pytest.raises(RayAddressError, match="is not auto or HOST:PORT"):
        parse_address(text, {})


def test_probe_names_an_unreachable_head() -> None:
    with socket.socket() as s:  # a port nobody listens on (bound, never listening)
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        with pytest.raises(RayAddressError, match=f"no Ray head reachable at 127.0.0.1:{port}"):
            probe(parse_address(f"127.0.0.1:{port}", {}), timeout_s=2.0)


@pytest.mark.parametrize("command", [["sweep", "--strategy", "sma_cross"], ["live"]])
def test_cli_exits_2_on_an_unreachable_address_within_the_timeout(
    command: list[str], tmp_path: Path
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        t0 = time.monotonic()
        res = subprocess.run(
            [sys.executable, "-m", "cluster.cli", *command, "--address", f"127.0.0.1:{port}"],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )  # fmt: skip
    assert res.returncode == 2, res.stderr
    assert f"no Ray head reachable at 127.0.0.1:{port}" in res.stderr
    assert len(res.stderr.strip().splitlines()) <= 3  # a clear message, no traceback
    assert time.monotonic() - t0 < 120  # the probe's 10 s, not Ray's minutes of retries


def test_malformed_address_exits_2_before_loading_data(tmp_path: Path) -> None:
    res = subprocess.run(
        [sys.executable, "-m", "cluster.cli", "sweep", "--strategy", "sma_cross", "--symbol",
         "NOSUCHCOIN", "--address", "not-an-address"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
    )  # fmt: skip
    assert res.returncode == 2
    assert "--address 'not-an-address' is not auto or HOST:PORT" in res.stderr
    assert "NOSUCHCOIN" not in res.stderr  # refused before the data store was read


def test_placement_options() -> None:
    assert Placement().options("runner") == {} == Placement().options("keeper")
    p = Placement.cluster()
    assert p.options("runner") == {"lifetime": "detached", "scheduling_strategy": "SPREAD",
                                   "num_cpus": 0.1}  # fmt: skip
    for role in ("keeper", "executor", "risk", "feed", "alerter", "confirm"):
        opts = p.options(role)
        assert opts["lifetime"] == "detached" and 0 < opts["resources"][STATE_RESOURCE] < 1
    on_live_nodes = Placement.cluster(runner_resource="fractal_live").options("runner")
    assert 0 < on_live_nodes["resources"]["fractal_live"] < 1
    with pytest.raises(ValueError, match="unknown actor role"):
        p.options("janitor")


def test_embedded_ray_skips_the_dashboards_bookkeeping_and_a_cluster_keeps_its_own() -> None:
    local = init_kwargs(parse_address(None, {}), 2, "ns")
    assert local["_system_config"] == EMBEDDED_SYSTEM_CONFIG
    assert local["include_dashboard"] is False and local["num_cpus"] == 2
    for text in ("auto", "127.0.0.1:6379"):  # Ray refuses a system config when joining
        joined = init_kwargs(parse_address(text, {}), 2, "ns")
        assert "_system_config" not in joined and "num_cpus" not in joined


def test_the_embedded_config_reaches_every_actor_process(ray_session: object) -> None:
    # the session's Ray is started with the same config: an actor's core worker reads it
    import ray

    @ray.remote(num_cpus=0)
    class Probe:
        def config(self) -> tuple[bool, bool]:
            cfg = ray._raylet.Config
            return cfg.enable_timeline(), cfg.record_ref_creation_sites()

    actor = Probe.remote()  # type: ignore[attr-defined]
    try:
        timeline, _ = ray.get(actor.config.remote(), timeout=60)
    finally:
        ray.kill(actor)
    assert timeline is False  # Ray's default is True
