"""The contract every strategy produces: per-bar order intents computed at each bar's close.

Why a plain frozen dataclass of numpy arrays: the backtest engine (numba) reads the arrays
directly, the live runner reads the last row, and both see exactly the same values — one code
path for backtest and live. Row `t` may only use information available at the close of bar `t`;
the engine acts on it from bar `t + 1` on.

Conventions (all arrays have one element per bar):

* `entry` int8: +1 open long, -1 open short, 0 nothing.
* `entry_kind` int8: MARKET (fill at the next bar's open), LIMIT or STOP (resting at
  `entry_price` from the next bar on, see research/backtest/engine.py for fill rules).
* `entry_price` float64: NaN for market entries, the limit/stop price otherwise.
* `stop`, `target` float64: absolute stop-loss / take-profit prices, NaN = none.
* `trail` float64: trailing-stop distance in price units, NaN = none.
* `exit_long`, `exit_short` bool: close an open long / short at the next bar's open.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import numpy.typing as npt
from numba import njit

MARKET = 0
LIMIT = 1
STOP = 2
ENTRY_KINDS = {"market": MARKET, "limit": LIMIT, "stop": STOP}

FloatArray = npt.NDArray[np.float64]


class SignalError(ValueError):
    """A strategy produced signals that break the contract (the message names the bar)."""


@dataclass(frozen=True)
class Signals:
    """Per-bar order intents; build with `Signals.build` so defaults and checks apply."""

    entry: npt.NDArray[np.int8]
    entry_kind: npt.NDArray[np.int8]
    entry_price: FloatArray
    stop: FloatArray
    target: FloatArray
    trail: FloatArray
    exit_long: npt.NDArray[np.bool_]
    exit_short: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.entry.shape[0])

    @classmethod
    def build(
        cls,
        n: int,
        *,
        entry: npt.ArrayLike | None = None,
        entry_kind: npt.ArrayLike | None = None,
        entry_price: npt.ArrayLike | None = None,
        stop: npt.ArrayLike | None = None,
        target: npt.ArrayLike | None = None,
        trail: npt.ArrayLike | None = None,
        exit_long: npt.ArrayLike | None = None,
        exit_short: npt.ArrayLike | None = None,
    ) -> Signals:
        """Fill omitted arrays with "nothing" (0 / NaN / False), coerce dtypes, validate."""
        if n <= 0:
            raise SignalError(f"signals need at least one bar, got n={n}")

        def arr(x: npt.ArrayLike | None, dtype: type, fill: object, name: str) -> np.ndarray:
            if x is None:
                return np.full(n, fill, dtype=dtype)
            a = np.asarray(x)
            if a.shape != (n,):
                raise SignalError(f"{name}: expected shape ({n},), got {a.shape}")
            return np.ascontiguousarray(a, dtype=dtype)

        sig = cls(
            entry=arr(entry, np.int8, 0, "entry"),
            entry_kind=arr(entry_kind, np.int8, MARKET, "entry_kind"),
            entry_price=arr(entry_price, np.float64, np.nan, "entry_price"),
            stop=arr(stop, np.float64, np.nan, "stop"),
            target=arr(target, np.float64, np.nan, "target"),
            trail=arr(trail, np.float64, np.nan, "trail"),
            exit_long=arr(exit_long, np.bool_, False, "exit_long"),
            exit_short=arr(exit_short, np.bool_, False, "exit_short"),
        )
        sig.validate()
        return sig

    def validate(self, close: FloatArray | None = None) -> None:
        """Raise SignalError on the first broken rule; `close` enables the stop-side check
        for market entries (their reference price is the signal bar's close).

        Why two passes: the rules are checked in one numba pass over the bars (`_rules_hold`);
        only when it finds a broken one do the numpy checks below run, to name it. A sweep
        validates every variant's million bars, and the numpy checks alone cost more than the
        simulation on an SMC strategy that re-emits its resting entry on half the bars."""
        n = len(self)
        for f in fields(self):
            a = getattr(self, f.name)
            if not isinstance(a, np.ndarray) or a.shape != (n,):
                raise SignalError(f"{f.name}: expected a numpy array of shape ({n},)")
        if not self._rules_hold(close):
            self._check_rules(close)

    def _rules_hold(self, close: FloatArray | None) -> bool:
        """True when the one-pass check finds no broken rule (False also for unusual dtypes or
        a close of the wrong shape: _check_rules then decides)."""
        if self.entry.dtype != np.int8 or self.entry_kind.dtype != np.int8:
            return False
        floats = (self.entry_price, self.stop, self.target, self.trail)
        if any(a.dtype != np.float64 for a in floats):
            return False
        c = np.empty(0) if close is None else np.asarray(close, dtype=np.float64)
        if close is not None and c.shape != self.entry.shape:
            return False
        return bool(_rules_hold(self.entry, self.entry_kind, *floats, c, close is not None))

    def _check_rules(self, close: FloatArray | None = None) -> None:
        """The rules in numpy, raising on the first broken one with the bar it is on."""
        n = len(self)
        bad = (self.entry < -1) | (self.entry > 1)
        if bad.any():
            raise SignalError(f"entry must be -1, 0 or +1 (bar {_first(bad)})")
        # every other rule concerns entry bars only: check that (usually small) subset
        at = np.flatnonzero(self.entry)
        side = self.entry[at].astype(np.float64)
        kind = self.entry_kind[at]
        bad = ~np.isin(kind, (MARKET, LIMIT, STOP))
        if bad.any():
            raise SignalError(f"entry_kind must be market/limit/stop (bar {at[_first(bad)]})")
        resting = kind != MARKET
        price = self.entry_price[at]
        bad = resting & ~(np.isfinite(price) & (price > 0))
        if bad.any():
            raise SignalError(
                f"limit/stop entry needs a positive finite entry_price (bar {at[_first(bad)]})"
            )
        for name in ("stop", "target", "trail"):
            a = getattr(self, name)[at]
            bad = ~np.isnan(a) & ~(np.isfinite(a) & (a > 0))
            if bad.any():
                raise SignalError(
                    f"{name} must be NaN or a positive finite number (bar {at[_first(bad)]})"
                )
        ref = np.where(resting, price, np.nan)
        if close is not None:
            close = np.asarray(close, dtype=np.float64)
            if close.shape != (n,):
                raise SignalError(f"close: expected shape ({n},), got {close.shape}")
            ref = np.where(resting, price, close[at])
        stop = self.stop[at]
        target = self.target[at]
        with np.errstate(invalid="ignore"):
            wrong_stop = (stop - ref) * side >= 0
            wrong_target = (target - ref) * side <= 0
        if wrong_stop.any():
            j = _first(wrong_stop)
            raise SignalError(
                f"stop on the wrong side at bar {at[j]}: {'long' if side[j] > 0 else 'short'} "
                f"entry at {ref[j]:.10g} with stop {stop[j]:.10g}"
            )
        if wrong_target.any():
            j = _first(wrong_target)
            raise SignalError(
                f"target on the wrong side at bar {at[j]}: "
                f"{'long' if side[j] > 0 else 'short'} entry at {ref[j]:.10g} "
                f"with target {target[j]:.10g}"
            )

    def row(self, t: int) -> dict[str, float | int | bool]:
        """The intents of one bar as plain Python values (what the live runner sends)."""
        return {f.name: getattr(self, f.name)[t].item() for f in fields(self)}


def _first(mask: npt.NDArray[np.bool_]) -> int:
    return int(np.flatnonzero(mask)[0])


@njit(cache=True)
def _rules_hold(
    entry: np.ndarray,
    kind: np.ndarray,
    price: np.ndarray,
    stop: np.ndarray,
    target: np.ndarray,
    trail: np.ndarray,
    close: np.ndarray,
    has_close: bool,
) -> bool:
    """Signals._check_rules as one pass over the bars: True when no rule is broken (the same
    comparisons on the same float64 values, so NaN and the boundaries behave identically;
    a property test holds the two to the same verdict)."""
    for i in range(entry.shape[0]):
        e = entry[i]
        if e == 0:
            continue
        if e < -1 or e > 1:
            return False
        kd = kind[i]
        if kd != MARKET and kd != LIMIT and kd != STOP:
            return False
        resting = kd != MARKET
        p = price[i]
        if resting and not (np.isfinite(p) and p > 0):
            return False
        for a in (stop[i], target[i], trail[i]):
            if not np.isnan(a) and not (np.isfinite(a) and a > 0):
                return False
        ref = p if resting else (close[i] if has_close else np.nan)
        side = np.float64(e)
        if (stop[i] - ref) * side >= 0 or (target[i] - ref) * side <= 0:
            return False
    return True
