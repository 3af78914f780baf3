"""The numba cache is keyed by a digest of the kernel sources (``cluster/numba_cache.py``).

The stale-code test edits an inlined helper (``_common.wilder_atr_step``, linked into
``atr._run``'s machine code) in a copy of the package: with a plain ``NUMBA_CACHE_DIR`` (the old
scheme) the next process still runs the old helper; with the digest directory it recompiles.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cluster import cli, numba_cache

ROOT = numba_cache.PROJECT_ROOT

ATR_SCRIPT = """
import json, sys
from pathlib import Path
copy, root, scheme = sys.argv[1:4]
sys.path[:0] = [copy, root]
if scheme == "digest":
    from cluster import numba_cache
    numba_cache.configure(Path(copy))
import numpy as np
from strategies.smc import atr
from strategies.smc._common import as_bars
n = 40
k = np.arange(n, dtype=np.float64)
c = 100.0 + np.sin(k)
bars = as_bars(c, c + 1.0 + 0.1 * k, c - 1.0, c, np.ones(n), 1e12 + 6e4 * k)
print(json.dumps(atr.run(bars, atr.Params(atr_period=3))[:, 0].tolist()))
"""


def _copy_packages(dst: Path) -> Path:
    for package in numba_cache.KERNEL_PACKAGES:
        shutil.copytree(ROOT / package, dst / package, ignore=shutil.ignore_patterns("__pycache__"))
    return dst


def _atr(copy: Path, scheme: str, cache: Path) -> list[float | None]:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("NUMBA_BOUNDSCHECK", None)
    out = subprocess.run(
        [sys.executable, "-c", ATR_SCRIPT, str(copy), str(ROOT), scheme],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_an_edited_inlined_helper_is_stale_in_a_plain_cache_but_recompiled_under_the_digest(
    tmp_path: Path,
) -> None:
    copy = _copy_packages(tmp_path / "src")
    plain, keyed = tmp_path / "plain-cache", tmp_path / "keyed-base"
    before = _atr(copy, "plain", plain)
    assert _atr(copy, "digest", keyed) == before
    helper = copy / "strategies" / "smc" / "_common.py"
    text = helper.read_text()
    old = "tr = max(h - lo, abs(h - pc), abs(lo - pc))"
    assert old in text
    helper.write_text(text.replace(old, "tr = 2.0 * max(h - lo, abs(h - pc), abs(lo - pc))"))
    truth = _atr(copy, "plain", tmp_path / "fresh-cache")  # compiled from the edited sources
    assert truth != before
    assert _atr(copy, "plain", plain) == before  # the old scheme runs the old helper: stale
    assert _atr(copy, "digest", keyed) == truth  # the digest directory recompiles
    assert len([p for p in keyed.iterdir() if p.is_dir()]) == 2  # one directory per source state


def test_digest_covers_every_kernel_package_file_and_nothing_else(tmp_path: Path) -> None:
    copy = _copy_packages(tmp_path)
    base = numba_cache.sources_digest(copy)
    assert base == numba_cache.sources_digest(ROOT)
    for rel in ("strategies/sizing.py", "research/backtest/engine.py", "strategies/smc/atr.py"):
        path = copy / rel
        text = path.read_text()
        path.write_text(text + "\n# edited\n")
        assert numba_cache.sources_digest(copy) != base, rel
        path.write_text(text)
    assert numba_cache.sources_digest(copy) == base
    (copy / "strategies" / "notes.txt").write_text("not python")
    assert numba_cache.sources_digest(copy) == base
    (copy / "strategies" / "new_helper.py").write_text("X = 1\n")
    assert numba_cache.sources_digest(copy) != base


def test_cache_dir_is_idempotent_and_separate_under_boundscheck(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NUMBA_BOUNDSCHECK", raising=False)
    digest = numba_cache.sources_digest()
    first = numba_cache.cache_dir(tmp_path)
    assert first == tmp_path / digest
    assert numba_cache.cache_dir(first) == first
    monkeypatch.setenv("NUMBA_BOUNDSCHECK", "1")
    checked = numba_cache.cache_dir(tmp_path)
    assert checked == tmp_path / f"{digest}-boundscheck" != first
    monkeypatch.setenv("NUMBA_BOUNDSCHECK", "0")
    assert numba_cache.cache_dir(tmp_path) == first


def test_default_base_is_the_user_cache_outside_the_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NUMBA_BOUNDSCHECK", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    path = numba_cache.configure()
    assert path == tmp_path / "xdg" / "fractal-trader" / "numba" / numba_cache.sources_digest()
    assert os.environ["NUMBA_CACHE_DIR"] == str(path)
    assert numba_cache.configure() == path  # a second call (e.g. the CLI under make) keeps it
    monkeypatch.setenv("XDG_CACHE_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NUMBA_CACHE_DIR")
    assert numba_cache.configure().parent == tmp_path / "home" / ".cache/fractal-trader/numba"


def test_the_cli_entry_configures_the_cache_before_any_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NUMBA_BOUNDSCHECK", raising=False)
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "base"))
    seen: list[str] = []
    monkeypatch.setattr(cli, "app", lambda: seen.append(os.environ["NUMBA_CACHE_DIR"]))
    cli.main()
    assert seen == [str(tmp_path / "base" / numba_cache.sources_digest())]


def test_module_prints_the_directory_for_a_base(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_BOUNDSCHECK"}
    out = subprocess.run(
        [sys.executable, "-m", "cluster.numba_cache", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert out.stdout.strip() == str(tmp_path / numba_cache.sources_digest())
    bad = subprocess.run(
        [sys.executable, "-m", "cluster.numba_cache", "a", "b"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert bad.returncode == 2 and "usage" in bad.stderr


@pytest.mark.causality
def test_the_causality_run_checks_every_index_even_in_kernels_without_nrt() -> None:
    """The prefix tests rely on it: a kernel reading bar ``i + 1`` of a prefix copy must raise."""
    import numpy as np
    from numba import njit

    from strategies.smc._common import NO_NRT

    def peek(a: np.ndarray, i: int) -> float:
        return float(a[i + 1])

    for kernel in (njit(peek), njit(**NO_NRT)(peek)):
        assert kernel(np.arange(2.0), 0) == 1.0
        with pytest.raises(IndexError):
            kernel(np.zeros(1), 0)
