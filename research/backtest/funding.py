"""Align funding prints to bars.

Each print's timestamp is its settlement time (floored to the hour in the shipped files). A bar
[t, t + tf) gets the SUM of the rates settled inside it; the engine charges that sum at the
bar's open on the position carried into the bar, notional at the open price (the oracle price
is not in the data; the open is the last price known at settlement). Sign: payment =
-signed qty x price x rate, so longs pay a positive rate and shorts receive it.
Missing prints are counted and reported, never filled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class FundingAlignment:
    rates: npt.NDArray[np.float64]  # per bar, summed
    prints_used: int
    missing_prints: int  # holes in the print series inside the bars' span
    interval_ms: int  # the print interval inferred from the data (0 if unknown)


def align_funding(
    bar_ts: npt.ArrayLike, timeframe_ms: int, funding_ts: npt.ArrayLike, rates: npt.ArrayLike
) -> FundingAlignment:
    """Sum each bar's funding prints; bar_ts are bar open times in ms (ascending)."""
    bt = np.asarray(bar_ts, dtype=np.int64)
    ft = np.asarray(funding_ts, dtype=np.int64)
    fr = np.asarray(rates, dtype=np.float64)
    if timeframe_ms <= 0:
        raise ValueError("timeframe_ms must be positive")
    if ft.shape != fr.shape:
        raise ValueError("funding timestamps and rates differ in length")
    if np.isnan(fr).any():
        raise ValueError("funding rates contain NaN")
    if ft.size > 1 and np.any(np.diff(ft) <= 0):
        raise ValueError("funding timestamps must be strictly increasing")
    out = np.zeros(bt.size, dtype=np.float64)
    if bt.size == 0 or ft.size == 0:
        return FundingAlignment(out, 0, 0, 0)
    idx = np.searchsorted(bt, ft, side="right") - 1
    inside = (idx >= 0) & (ft < bt[np.maximum(idx, 0)] + timeframe_ms)
    np.add.at(out, idx[inside], fr[inside])
    interval = int(np.median(np.diff(ft))) if ft.size > 1 else 0
    missing = 0
    if interval > 0:
        span = (ft >= bt[0]) & (ft < bt[-1] + timeframe_ms)
        fs = ft[span]
        if fs.size > 1:
            gaps = np.diff(fs)
            # a gap of k intervals hides k - 1 prints (assumes one print interval in the span)
            missing = int(np.sum(np.maximum(np.round(gaps / interval) - 1, 0)))
    return FundingAlignment(out, int(inside.sum()), missing, interval)
