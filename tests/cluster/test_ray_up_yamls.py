"""The `ray up` YAMLs in cluster/ray/ pass Ray's own schema and keep the project's launch rules.

Ray's `prepare_config` + `validate_config` are what `ray up` runs first (private API: the Ray
pin in pyproject.toml makes them stable). A YAML that fails here would fail on the user's first
`ray up`, after minutes of cloud set-up, so the check belongs in CI.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
YAMLS = sorted((ROOT / "cluster" / "ray").glob("*.yaml"))


def _load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text())
    assert isinstance(data, dict), f"{path.name}: top level must be a mapping"
    return data


def _validated(config: dict[str, Any]) -> dict[str, Any]:
    from ray.autoscaler._private.util import prepare_config, validate_config

    prepared = prepare_config(copy.deepcopy(config))
    validate_config(prepared)
    return prepared


def test_every_provider_has_a_yaml() -> None:
    assert {p.stem for p in YAMLS} == {"aws", "gcp", "local"}


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.stem)
def test_yaml_passes_rays_schema(path: Path) -> None:
    prepared = _validated(_load(path))
    assert prepared["cluster_name"] == "fractal-trader"


@pytest.mark.parametrize("path", YAMLS, ids=lambda p: p.stem)
def test_nodes_run_the_locked_environment(path: Path) -> None:
    """Ray and Python on every node must equal the driver's: installed from uv.lock, started
    from the project venv (a job inherits the head's PATH), never a global `ray`."""
    config = _load(path)
    setup = " ".join(config["setup_commands"])
    assert "uv sync --locked" in setup and "--python python3.11" in setup
    for key in ("head_start_ray_commands", "worker_start_ray_commands"):
        for cmd in config[key]:
            assert "ray " not in cmd.replace("/.venv/bin/ray ", ""), f"{key}: global ray in {cmd!r}"
    head = " ".join(config["head_start_ray_commands"])
    assert "--dashboard-host=127.0.0.1" in head  # operators reach it through `ray dashboard`
    for source in config["file_mounts"].values():
        assert (ROOT / source).exists(), f"file_mounts source {source} does not exist"


@pytest.mark.parametrize("path", [p for p in YAMLS if p.stem != "local"], ids=lambda p: p.stem)
def test_cloud_yaml_has_a_cpu_free_head_and_capped_spot_workers(path: Path) -> None:
    config = _load(path)
    types = config["available_node_types"]
    head = types[config["head_node_type"]]
    assert head["resources"]["CPU"] == 0 and head["resources"]["fractal_state"] == 1
    workers = {k: v for k, v in types.items() if k != config["head_node_type"]}
    assert all(w["min_workers"] == 0 for w in workers.values())
    assert sum(w["max_workers"] for w in workers.values()) <= config["max_workers"] + 1
    research = [w for k, w in workers.items() if k.startswith("research")]
    assert research, "a research worker type is required"
    spot = str(research[0]["node_config"])
    assert "spot" in spot or "preemptible" in spot


def test_schema_check_catches_a_broken_yaml() -> None:
    """Negative control: the validation above can fail."""
    broken = _load(ROOT / "cluster" / "ray" / "aws.yaml")
    broken["head_node_type"] = "no_such_type"
    with pytest.raises(ValueError, match="head_node_type"):
        _validated(broken)
    typo = _load(ROOT / "cluster" / "ray" / "gcp.yaml")
    typo["max_wokers"] = 3
    with pytest.raises(Exception, match="max_wokers"):
        _validated(typo)
