"""Layering (DESIGN.md): nothing under actors/ imports cluster or research (issue #15)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from actors.venues.simulator import SimulatorConfig

ACTORS = Path(__file__).resolve().parents[2] / "actors"


def _imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_actors_import_neither_cluster_nor_research() -> None:
    files = sorted(ACTORS.rglob("*.py"))
    assert any(f.name == "server.py" for f in files)  # the walk really sees the simulator
    bad = {
        f"{f.relative_to(ACTORS.parent)}: {m}"
        for f in files
        for m in _imported_modules(f)
        if m.split(".")[0] in ("cluster", "research")
    }
    assert not bad, sorted(bad)


def test_replay_without_market_dir_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="market_dir is required"):
        SimulatorConfig(symbols=["BTC"])
    assert SimulatorConfig(symbols=["BTC"], replay=False).market_dir is None


def test_config_file_market_dir_wins_over_the_default(tmp_path: Path) -> None:
    path = tmp_path / "sim.toml"
    path.write_text(f'symbols = ["BTC"]\nmarket_dir = "{tmp_path / "mine"}"\n')
    cfg = SimulatorConfig.from_file(path, defaults={"market_dir": tmp_path / "settings"})
    assert cfg.market_dir == tmp_path / "mine"
    path.write_text('symbols = ["BTC"]\n')
    cfg = SimulatorConfig.from_file(path, defaults={"market_dir": tmp_path / "settings"})
    assert cfg.market_dir == tmp_path / "settings"
