"""Where numba keeps compiled machine code: one cache, keyed by a digest of the kernel sources.

Why a digest: numba invalidates a cached function only when *its own* source file changes, yet
the cached machine code also contains every njit function it calls (``engine.simulate`` inlines
``strategies.sizing.position_size``; ``sma_grid`` inlines engine helpers, sizing and
``sma_cross.cross``; ``atr``/``order_blocks`` inline ``_common.wilder_atr_step``). After an edit
of such a helper a kept cache would run the old code. So the effective ``NUMBA_CACHE_DIR`` is
``<base>/<digest>``, the digest covering every ``.py`` file under ``strategies/`` and
``research/backtest/`` plus the numba version: any edit starts a fresh, correct cache.

Why one place: ``make run``, ``make test`` and a direct ``.venv/bin/fractal`` call share the cache
(before, the Makefile used a temp dir and the CLI wrote ``__pycache__`` into the source tree, so
each compiled everything again). Base, in order: ``NUMBA_CACHE_DIR`` if set (taken as a base;
``make test`` sets its own), else ``$XDG_CACHE_HOME/fractal-trader/numba`` (default
``~/.cache/fractal-trader/numba``) — outside the source tree. Runs with ``NUMBA_BOUNDSCHECK=1``
get their own directory (``<digest>-boundscheck``): numba's cache key does not include the
bounds-check flag, so a shared directory would hand them unchecked code.

Stdlib only and numba is never imported here: this must run before numba reads its config.
Old digest directories are not pruned; delete the base directory to reclaim the space.
"""

from __future__ import annotations

import hashlib
import os
import sys
from importlib import metadata
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# packages whose njit code can be linked into another file's cached machine code
KERNEL_PACKAGES = ("strategies", "research/backtest")
BOUNDSCHECK_SUFFIX = "-boundscheck"


def sources_digest(root: Path = PROJECT_ROOT) -> str:
    """16 hex digits over the path and bytes of every ``.py`` file of ``KERNEL_PACKAGES`` under
    ``root``, and the installed numba version."""
    h = hashlib.sha256()
    try:
        h.update(metadata.version("numba").encode())
    except metadata.PackageNotFoundError:  # pragma: no cover - numba is a dependency
        h.update(b"no-numba")
    for package in KERNEL_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            h.update(path.relative_to(root).as_posix().encode() + b"\0")
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def default_base() -> Path:
    """``$XDG_CACHE_HOME/fractal-trader/numba`` (``~/.cache/...`` when XDG_CACHE_HOME is unset)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "fractal-trader" / "numba"


def boundscheck() -> bool:
    """True when numba compiles with bounds checks (``NUMBA_BOUNDSCHECK`` set and not 0)."""
    return os.environ.get("NUMBA_BOUNDSCHECK", "").strip() not in ("", "0")


def cache_dir(base: Path, root: Path = PROJECT_ROOT) -> Path:
    """``base/<digest>`` (``<digest>-boundscheck`` under ``NUMBA_BOUNDSCHECK``). Idempotent: a
    ``base`` that already ends in this digest directory is returned unchanged."""
    tag = sources_digest(root) + (BOUNDSCHECK_SUFFIX if boundscheck() else "")
    return base if base.name == tag else base / tag


def configure(root: Path = PROJECT_ROOT) -> Path:
    """Point ``NUMBA_CACHE_DIR`` at the digest directory (see the module docstring) and return it.

    Call before any kernel module is imported: a cached function's directory is fixed when it
    is decorated.
    """
    env = os.environ.get("NUMBA_CACHE_DIR", "").strip()
    path = cache_dir(Path(env).expanduser() if env else default_base(), root)
    os.environ["NUMBA_CACHE_DIR"] = str(path)
    return path


def main(argv: list[str] | None = None) -> int:
    """``python -m cluster.numba_cache [BASE]``: print the effective cache directory for BASE
    (default: as ``configure`` picks it). Used by the Makefile."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) > 1:
        print("usage: python -m cluster.numba_cache [BASE]", file=sys.stderr)
        return 2
    base = Path(args[0]).expanduser() if args else None
    print(cache_dir(base) if base is not None else configure())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
