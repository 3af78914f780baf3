"""detect()'s values are pinned: every column on real shipped bars, by value, whatever its dtype.

Why: the frame's storage (dtypes, blocks, how the kernels' outputs reach it) is free to change,
its numbers are not. ``golden/detect_values.json`` holds, per case and column, the sha256 of the
column's values as float64 (NaN canonical, -0.0 as 0.0), the non-NaN count and the sum, written
from the frame before the zero-copy typed layout (issue #17). Regenerate only for an intended
change of the detectors' *values*: ``python -m tests.smc.test_detect_values --write``.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from strategies.smc import detect
from tests.smc.helpers import BTC_5M, ETH_15M, load_frame

GOLDEN = Path(__file__).parent / "golden" / "detect_values.json"
# (name, data file, detect() parameters): defaults, and the non-default branches
CASES: dict[str, tuple[Path, dict[str, Any]]] = {
    "btc_5m_defaults": (BTC_5M, {}),
    "eth_15m_variants": (
        ETH_15M,
        {
            "swing_length": 12,
            "internal_length": 3,
            "structure_wick_break": True,
            "structure_filter_internal": False,
            "ob_use_body": True,
            "ob_close_invalidation": False,
            "ob_atr_mult": 2.0,
            "fvg_middle_dir": True,
            "fvg_min_atr": 0.2,
            "fvg_merge": False,
            "periods_zone": "America/New_York",
            "session_custom_zone": "Asia/Singapore",
            "session_custom_start": "22:00",
            "session_custom_end": "03:30",
            "liq_reclaim_bars": 3,
            "retracement_use_close": True,
        },
    ),
}


def column_digest(col: pd.Series) -> dict[str, Any]:
    """Value fingerprint of one column, independent of its dtype (bool/int/float)."""
    x = col.to_numpy(dtype=np.float64, copy=True)
    x[np.isnan(x)] = np.nan  # one NaN bit pattern
    x[x == 0.0] = 0.0  # -0.0 and 0.0 are the same value
    finite = x[~np.isnan(x)]
    return {
        "sha256": hashlib.sha256(x.astype("<f8").tobytes()).hexdigest(),
        "non_nan": int(finite.size),
        "sum": float(finite.sum()),
    }


def fingerprint(case: str) -> dict[str, Any]:
    path, params = CASES[case]
    got = detect(load_frame(path), **params)
    return {"rows": len(got), "columns": {c: column_digest(got[c]) for c in got.columns}}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_column_keeps_its_values(case: str) -> None:
    want = json.loads(GOLDEN.read_text())[case]
    got = fingerprint(case)
    assert got["rows"] == want["rows"]
    assert list(got["columns"]) == list(want["columns"]), "column names or order changed"
    changed = [c for c, d in want["columns"].items() if got["columns"][c] != d]
    assert not changed, f"{len(changed)} column(s) changed value: {changed[:10]}"


def test_the_pinned_cases_exercise_the_columns() -> None:
    """The golden file would be a weak pin if most columns were constant: each case must have
    events (non-zero, non-(-1) values) in most event columns."""
    want = json.loads(GOLDEN.read_text())
    for case, data in want.items():
        cols = data["columns"]
        varied = [
            c for c, d in cols.items() if d["non_nan"] and d["sum"] not in (0.0, -data["rows"])
        ]
        assert len(varied) >= 0.9 * len(cols), (case, sorted(set(cols) - set(varied)))


def main() -> None:
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python -m tests.smc.test_detect_values --write")
    GOLDEN.write_text(json.dumps({c: fingerprint(c) for c in sorted(CASES)}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
