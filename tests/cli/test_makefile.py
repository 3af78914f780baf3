"""`make run` installs only what the program needs; `make test`/`lint` add the dev extra.
Checked on `make -n` (dry run) against a throw-away VENV path, so nothing is installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")


def _dry_run(target: str, venv: Path) -> list[str]:
    res = subprocess.run(
        ["make", "-n", target, f"VENV={venv}", f"TEST_TMP={venv.parent}"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert res.returncode == 0, res.stderr
    return [line for line in res.stdout.splitlines() if " uv sync " in line]


def test_run_syncs_without_the_dev_extra_and_test_with_it(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (syncs,) = _dry_run("run", venv)
    assert "--locked" in syncs.split() and "--extra" not in syncs
    for target in ("test", "lint"):
        (syncs,) = _dry_run(target, venv)
        assert "--locked" in syncs.split() and "--extra dev" in syncs


@pytest.mark.parametrize("target", ["run", "test"])
def test_install_compiles_bytecode(tmp_path: Path, target: str) -> None:
    """Without .pyc files every process (Ray worker, CLI, test subprocess) compiles its imports
    from source when PYTHONDONTWRITEBYTECODE is set: seconds of CPU each time."""
    (syncs,) = _dry_run(target, tmp_path / "venv")
    assert "--compile-bytecode" in syncs.split()


def test_switching_between_run_and_test_resyncs(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    venv.mkdir()
    (venv / ".synced").touch()  # synced for tests (dev extra) and newer than uv.lock
    (syncs,) = _dry_run("run", venv)  # run must drop the dev packages
    assert "--extra" not in syncs
    (venv / ".synced").unlink()
    (venv / ".synced-run").touch()
    (syncs,) = _dry_run("lint", venv)  # and test must bring them back
    assert "--extra dev" in syncs
    (venv / ".synced").touch()
    assert _dry_run("lint", venv) == []  # up to date: no sync
