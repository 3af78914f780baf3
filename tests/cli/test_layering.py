"""The import contracts `make lint` enforces (pyproject `[tool.importlinter]`): the project keeps
them, and each one bites when a module breaks it (checked on a throw-away package tree)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

CONFIG = PROJECT_ROOT / "pyproject.toml"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--config", str(CONFIG), "--no-cache", "--no-logo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_project_keeps_every_layering_contract(tmp_path: Path) -> None:
    res = _lint(tmp_path, PROJECT_ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Contracts: 4 kept, 0 broken." in res.stdout


# a minimal tree with the four root packages; each case adds one forbidden import
_TREE = {
    "strategies/__init__.py": "",
    "strategies/smc/__init__.py": "",
    "strategies/smc/compat.py": "",
    "research/__init__.py": "",
    "actors/__init__.py": "",
    "cluster/__init__.py": "",
    "cluster/settings.py": "",
    "cluster/cli.py": "from strategies.smc import compat\n",  # allowed: `fractal smc --compat`
}


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("strategies/bad.py", "import research\n", "strategies/ is pure"),
        ("strategies/bad.py", "import cluster.settings\n", "strategies/ is pure"),
        ("strategies/bad.py", "import ray\n", "strategies/ is pure"),
        ("research/bad.py", "import actors\n", "research/ never imports"),
        ("research/bad.py", "from cluster import settings\n", "research/ never imports"),
        ("actors/bad.py", "import research\n", "actors/ never imports"),
        ("actors/bad.py", "from cluster.settings import x\n", "actors/ never imports"),
        ("strategies/smc/bad.py", "from strategies.smc import compat\n", "compat mode"),
        ("actors/bad.py", "import strategies.smc.compat\n", "compat mode"),
    ],
)
def test_each_contract_catches_a_violation(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    src = tmp_path / "src"
    for rel, text in {**_TREE, module: line}.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_text(text)
    res = _lint(tmp_path, src)
    assert res.returncode == 1, res.stdout + res.stderr
    broken = res.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken and module.removesuffix(".py").replace("/", ".") in broken
    assert "Contracts: 3 kept, 1 broken." in res.stdout
