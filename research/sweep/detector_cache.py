"""Detector columns computed once per (candles, detector parameters, columns) and kept on disk.

Why: SMC detection (~0.55 s per 1M bars per parameter set) costs as much as dozens of
backtests, and every strategy variant with the same detector parameters reads the same
columns. The key hashes the candle bytes, the parameters, the column names and the source of
``strategies/smc`` (a detector change invalidates every entry). Files are written atomically
(temp file + rename), so a killed sweep never leaves a half-written entry.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

import strategies.smc as smc_pkg
from strategies.live import N_BAR_COLS
from strategies.smc.pipeline import concept_nodes, detect_arrays, make_params


@functools.lru_cache(maxsize=1)
def detector_code_hash() -> str:
    """sha256 of the SMC detector sources (part of every cache key)."""
    h = hashlib.sha256()
    root = Path(smc_pkg.__file__).parent
    for path in sorted(root.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def cache_key(
    candles_digest: str, detector_params: Mapping[str, Any], columns: Sequence[str]
) -> str:
    blob = json.dumps(
        {"candles": candles_digest, "params": dict(sorted(detector_params.items())),
         "columns": list(columns), "code": detector_code_hash()},
        sort_keys=True, default=str,
    )  # fmt: skip
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def compute_matrix(
    det_bars: np.ndarray,
    ohlc: Sequence[np.ndarray],
    detector_params: Mapping[str, Any],
    columns: Sequence[str],
) -> np.ndarray:
    """The strategy input matrix: OHLC then ``columns`` (as ``live.input_matrix`` builds it
    from ``detect_columns``), with the detectors on one thread (the task count fills the cores)."""
    outs = detect_arrays(det_bars, make_params(**detector_params), threads=1, columns=list(columns))
    where = {col: (node.name, j) for node in concept_nodes() for j, col in enumerate(node.columns)}
    n = det_bars.shape[0]
    x = np.empty((n, N_BAR_COLS + len(columns)), dtype=np.float64, order="F")
    for j, a in enumerate(ohlc):
        x[:, j] = a
    for j, c in enumerate(columns):
        name, col = where[c]
        x[:, N_BAR_COLS + j] = outs[name][:n, col]
    return x


def load_or_compute(
    cache_dir: Path | None,
    key: str,
    det_bars: np.ndarray,
    ohlc: Sequence[np.ndarray],
    detector_params: Mapping[str, Any],
    columns: Sequence[str],
    write: bool = True,
) -> tuple[np.ndarray, dict[str, Any]]:
    """The matrix from the disk cache, else computed (and stored unless ``write`` is False);
    info says which and how long (wall and CPU seconds)."""
    t0, c0 = time.perf_counter(), time.process_time()
    path = None if cache_dir is None else cache_dir / f"{key}.npy"
    if path is not None and path.is_file():
        try:
            x = np.load(path)
            if x.shape == (det_bars.shape[0], N_BAR_COLS + len(columns)):
                return x, {
                    "key": key,
                    "hit": True,
                    "seconds": time.perf_counter() - t0,
                    "cpu_seconds": time.process_time() - c0,
                }
        except (OSError, ValueError):
            pass  # unreadable entry: recompute and overwrite
    x = compute_matrix(det_bars, ohlc, detector_params, columns)
    if path is not None and write:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            np.save(fh, x)
        os.replace(tmp, path)
    return x, {
        "key": key,
        "hit": False,
        "seconds": time.perf_counter() - t0,
        "cpu_seconds": time.process_time() - c0,
    }
