"""Align funding prints to bars, split by WHEN inside the bar each print settles.

Each print's timestamp is its settlement time (floored to the hour in the shipped files). A
print is paid by the position held at that instant, so the engine needs to know, per bar
[t, t + tf), which prints settle exactly at its open t and which strictly inside (t, t + tf):

* `rates[i]`: sum of the prints settled at bar i's open instant. They are paid by the position
  carried into the bar, before the fills at that open (an order fills at the first trade at or
  after t, which is after the settlement at t). With hourly prints and bars of 1h or shorter
  aligned to the hour, every print is of this kind.
* `inside_up[i]` / `inside_down[i]`: sums of the positive / negative prints settled strictly
  inside the bar (4h and 1d bars; unaligned bars). They are paid by the position held after
  the open's fills. When that position changes inside the bar at an instant the bars do not
  reveal (a resting entry or a stop/target/liquidation exit filled intrabar), the engine
  charges the prints that cost the position and credits none that would pay it: no possible
  fill time is worse for the trader (research.md §10, "never better than the bar allows").

The engine charges every print at notional x the bar's open price (the oracle price is not in
the data; the open is the last price known when the bar starts). Sign: payment = -signed qty x
price x rate, so longs pay a positive rate and shorts receive it. Missing prints are counted
and reported, never filled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class FundingAlignment:
    rates: npt.NDArray[np.float64]  # per bar: prints settled at the bar's open instant, summed
    prints_used: int
    missing_prints: int  # holes in the print series inside the bars' span
    interval_ms: int  # the print interval inferred from the data (0 if unknown)
    inside_up: npt.NDArray[np.float64] | None = None  # per bar: positive prints inside, summed
    inside_down: npt.NDArray[np.float64] | None = None  # per bar: negative prints inside, summed

    @property
    def has_inside(self) -> bool:
        """True when some print settles strictly inside a bar (bars longer than the interval)."""
        return any(
            a is not None and bool(np.any(a != 0.0)) for a in (self.inside_up, self.inside_down)
        )

    def total(self) -> npt.NDArray[np.float64]:
        """Every print of each bar, summed (for reports: the rate a bar-long holder pays)."""
        out = np.asarray(self.rates, dtype=np.float64).copy()
        for a in (self.inside_up, self.inside_down):
            if a is not None:
                out += a
        return out

    def kernel_rows(self) -> npt.NDArray[np.float64]:
        """The engine's layout: (1, n) [at open] or, with inside prints, (3, n) [at open,
        inside positive, inside negative]; contiguous float64."""
        n = np.asarray(self.rates).shape[0]
        if not self.has_inside:
            return np.ascontiguousarray(np.asarray(self.rates, dtype=np.float64).reshape(1, n))
        zero = np.zeros(n)
        up = zero if self.inside_up is None else self.inside_up
        down = zero if self.inside_down is None else self.inside_down
        for name, a in (("inside_up", up), ("inside_down", down)):
            if np.shape(a) != (n,):
                raise ValueError(f"funding {name}: expected {n} bars, got {np.shape(a)}")
        if np.any(np.asarray(up) < 0) or np.any(np.asarray(down) > 0):
            raise ValueError("funding inside_up must be >= 0 and inside_down <= 0")
        return np.ascontiguousarray(np.stack([self.rates, up, down]), dtype=np.float64)


def align_funding(
    bar_ts: npt.ArrayLike, timeframe_ms: int, funding_ts: npt.ArrayLike, rates: npt.ArrayLike
) -> FundingAlignment:
    """Split each bar's funding prints into at-open and strictly-inside sums.

    bar_ts are bar open times in ms (ascending); a print belongs to the bar whose
    [open, open + timeframe) contains its settlement time."""
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
    at_open = np.zeros(bt.size, dtype=np.float64)
    up = np.zeros(bt.size, dtype=np.float64)
    down = np.zeros(bt.size, dtype=np.float64)
    if bt.size == 0 or ft.size == 0:
        return FundingAlignment(at_open, 0, 0, 0, up, down)
    idx = np.searchsorted(bt, ft, side="right") - 1
    start = bt[np.maximum(idx, 0)]
    used = (idx >= 0) & (ft < start + timeframe_ms)
    on_open = used & (ft == start)
    strictly = used & (ft > start)
    np.add.at(at_open, idx[on_open], fr[on_open])
    pos = strictly & (fr > 0)
    neg = strictly & (fr < 0)
    np.add.at(up, idx[pos], fr[pos])
    np.add.at(down, idx[neg], fr[neg])
    interval = int(np.median(np.diff(ft))) if ft.size > 1 else 0
    missing = 0
    if interval > 0:
        span = (ft >= bt[0]) & (ft < bt[-1] + timeframe_ms)
        fs = ft[span]
        if fs.size > 1:
            gaps = np.diff(fs)
            # a gap of k intervals hides k - 1 prints (assumes one print interval in the span)
            missing = int(np.sum(np.maximum(np.round(gaps / interval) - 1, 0)))
    return FundingAlignment(at_open, int(used.sum()), missing, interval, up, down)
