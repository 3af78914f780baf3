"""Small crafted frames and manifest look-ups shared by the data tests."""

from __future__ import annotations

import json
from functools import cache

import numpy as np
import pandas as pd

from tests.conftest import MARKET

START_MS = 1_735_689_600_000  # 2025-01-01 00:00 UTC


def bars(n: int = 10, tf_ms: int = 300_000, start_ms: int = START_MS) -> pd.DataFrame:
    """A valid OHLCV frame in the shipped CSV layout (integer-ms `timestamp` column)."""
    ts = start_ms + tf_ms * np.arange(n, dtype="int64")
    base = 100.0 + np.arange(n, dtype="float64")
    return pd.DataFrame(
        {
            "timestamp": ts,
            "open": base,
            "high": base + 2.0,
            "low": base - 2.0,
            "close": base + 1.0,
            "volume": np.full(n, 5.0),
        }
    )


@cache
def manifest() -> dict[str, dict]:
    """manifest.json entries keyed by `folder/file`."""
    entries = json.loads((MARKET / "manifest.json").read_text())["ohlcv_and_funding"]
    return {e["file"]: e for e in entries}


def raw_csv(rel: str) -> pd.DataFrame:
    """The shipped file read independently of our loader."""
    return pd.read_csv(MARKET / rel)
