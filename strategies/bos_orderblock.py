"""Break of structure + order block retest: buy the pullback into the block that caused the break.

Built only on the causal SMC detectors (strategies/smc, docs/smc.md §3.3, §3.4); every rule reads
row ``t`` of ``detect()`` (known at the close of bar ``t``) and bars ``<= t``. ``scale`` picks
the structure/order-block instance (``swing`` or ``internal``). Rules for a **long** (short
mirrored: bearish break, bearish OB, entry at its bottom, stop above its top):

1. **Setup** at bar ``t``: a bullish OB is created on row ``t`` (``ob_{scale}_bull_new``), which
   happens exactly on a bullish structure break; ``break_kind`` ``bos``/``choch`` requires
   ``structure_{scale}_bull_kind`` = 1/2 (``any``: either). Entry level ``E`` = OB top
   (``entry_level = "edge"``) or its midpoint (``"mid"``); stop = OB bottom − ``stop_atr_buffer``
   × ``atr[t]``, both fixed at creation (no setup while ATR is unknown, ``E`` ≤ stop or stop ≤ 0). A newer
   bullish setup replaces the current one.
2. **Order**: while the setup lives, every bar ``u`` (from ``t`` on) emits a LIMIT long at ``E``
   with that stop — the engine rests it for bar ``u + 1`` only (``entry_ttl = 1``, the default;
   a longer ttl would let an order outlive the end of its setup), so the order is re-emitted bar
   by bar rather than resting ``entry_ttl`` bars. No order on a bar where
   ``close[u] ≤ E`` (it would not be a pullback limit), where ``trend_filter`` is on and
   ``structure_swing_trend ≠ +1``, or within ``cooldown`` bars after an assumed fill (the fill bar
   included). Target: ``target_mode = "rr"`` → ``E + rr × (E − stop)``; ``"structure"`` → the
   running high since the break (``structure_{scale}_weak_high[u]``, the impulse's extreme) if it
   pays at least ``min_rr`` R, else the ``rr`` target; no order if that target is ≤ 0 (a far
   short target).
3. **End of the setup**, checked at each bar ``u > t`` before new setups: the bar trades through
   ``E`` (``open[u] ≤ E`` or ``low[u] < E``, the engine's limit-fill rule) — the OB is reached; if
   an order was emitted on ``u − 1`` this is an *assumed fill* and starts the cooldown —; else a
   bearish structure break on the scale (``structure_{scale}_bear_kind > 0``: the structure the OB
   protects is broken); else expiry after ``max_wait`` bars (orders on ``t .. t + max_wait − 1``).
   OB invalidation (a close below its bottom) can only follow a trade through ``E``, so it is
   covered by the first rule.
4. A long and a short order on the same bar cancel out (neither is emitted).

The engine ignores an entry in the direction of an open position and treats an opposite one as
exit-and-reverse (research/backtest/engine.py). The strategy carries no position state (fills are
*assumed* from prices), so backtest and live emit the same rows; batch and bar-by-bar run one
numba kernel (strategies/live.py).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

import numpy as np
from numba import njit
from pydantic import Field

from strategies import live
from strategies.live import (
    N_BAR_COLS,
    NEVER,
    SIDES,
    X_CLOSE,
    X_HIGH,
    X_LOW,
    X_OPEN,
    Spec,
    StrategyParams,
    windows,
)
from strategies.signals import LIMIT, MARKET, Signals

NAME = "bos_orderblock"
DEFAULT_SIZING = "risk"
BREAK_KINDS = {"any": 0.0, "bos": 1.0, "choch": 2.0}


class Params(StrategyParams):
    """Strategy parameters; ``sweep``/``choices`` give the research grid."""

    scale: Literal["internal", "swing"] = Field(
        default="internal", json_schema_extra={"choices": ["internal", "swing"]}
    )
    break_kind: Literal["any", "bos", "choch"] = Field(
        default="any", json_schema_extra={"choices": ["any", "bos", "choch"]}
    )
    entry_level: Literal["edge", "mid"] = Field(
        default="edge", json_schema_extra={"choices": ["edge", "mid"]},
        description="limit at the OB's near edge (top of a bullish OB) or its midpoint",
    )  # fmt: skip
    max_wait: int = Field(
        default=50, ge=1, le=100_000, json_schema_extra={"sweep": [10, 100, 10]},
        description="bars the limit order is re-emitted after the break",
    )  # fmt: skip
    target_mode: Literal["rr", "structure"] = Field(
        default="rr", json_schema_extra={"choices": ["rr", "structure"]}
    )
    ob_use_body: bool = Field(default=False, json_schema_extra={"choices": [False, True]})

    DETECTOR_FIELDS: ClassVar[tuple[str, ...]] = (*StrategyParams.DETECTOR_FIELDS, "ob_use_body")


def columns(scale: str) -> tuple[str, ...]:
    """Detector columns read by the kernel (after OHLC), for one structure scale."""
    return (
        "atr",
        f"ob_{scale}_bull_new", f"ob_{scale}_bull_new_top", f"ob_{scale}_bull_new_bottom",
        f"ob_{scale}_bear_new", f"ob_{scale}_bear_new_top", f"ob_{scale}_bear_new_bottom",
        f"structure_{scale}_bull_kind", f"structure_{scale}_bear_kind",
        "structure_swing_trend",
        f"structure_{scale}_weak_high", f"structure_{scale}_weak_low",
    )  # fmt: skip


X_ATR = N_BAR_COLS
X_NEW = N_BAR_COLS + 1  # side s: count, top, bottom at X_NEW + 3 s
X_KIND = N_BAR_COLS + 7  # side s: break kind at X_KIND + s (the opposite side's at + 1 - s)
X_TREND = N_BAR_COLS + 9
X_WEAK = N_BAR_COLS + 10  # side s: running extreme since the break at X_WEAK + s

P_SIDE, P_KIND, P_MID, P_BUF, P_RR, P_TMODE, P_MINRR, P_WAIT, P_TREND, P_COOL = range(10)
N_PARAMS = 10
# state: last assumed fill bar, then per side (alive, entry level, stop, created, emitted)
S_LAST, S_SIDE = 0, 1
N_STATE = 11


def spec(params: Params) -> Spec:
    """Kernel inputs for one parameter set."""
    p = np.zeros(N_PARAMS)
    p[P_SIDE] = SIDES[params.side]
    p[P_KIND] = BREAK_KINDS[params.break_kind]
    p[P_MID] = params.entry_level == "mid"
    p[P_BUF] = params.stop_atr_buffer
    p[P_RR] = params.rr
    p[P_TMODE] = params.target_mode == "structure"
    p[P_MINRR] = params.min_rr
    p[P_WAIT] = params.max_wait
    p[P_TREND] = params.trend_filter
    p[P_COOL] = params.cooldown
    state = np.zeros(N_STATE)
    state[S_LAST] = NEVER
    return Spec(
        columns(params.scale), p, state, kernel, params.detector_params(), on_window=on_window
    )


@njit(cache=True)
def kernel(
    start: int, stop: int, x: np.ndarray, p: np.ndarray, st: np.ndarray, out: np.ndarray
) -> None:
    """Signal rows ``start..stop-1`` from input rows ``<= i`` and the carried state ``st``."""
    for i in range(start, stop):
        out[i, 0] = 0.0
        out[i, 1] = MARKET
        out[i, 2] = np.nan
        out[i, 3] = np.nan
        out[i, 4] = np.nan
        # 1. end live setups: traded through E (assumed fill), opposite break, expiry
        for s in range(2):
            g = 1.0 if s == 0 else -1.0
            b = S_SIDE + 5 * s
            if st[b] > 0.0:
                e = st[b + 1]
                ext = x[i, X_LOW] if s == 0 else x[i, X_HIGH]
                if g * (x[i, X_OPEN] - e) <= 0.0 or g * (ext - e) < 0.0:
                    st[b] = 0.0
                    if st[b + 4] > 0.0:
                        st[S_LAST] = i
                elif x[i, X_KIND + 1 - s] > 0.0 or i - st[b + 3] >= p[P_WAIT]:
                    st[b] = 0.0
            st[b + 4] = 0.0
        # 2. new setups from the order blocks created on this bar
        for s in range(2):
            g = 1.0 if s == 0 else -1.0
            b = S_SIDE + 5 * s
            col = X_NEW + 3 * s
            if p[P_SIDE] != 0.0 and p[P_SIDE] != g:
                continue
            if not x[i, col] > 0.0:
                continue
            if p[P_KIND] > 0.0 and x[i, X_KIND + s] != p[P_KIND]:
                continue
            top = x[i, col + 1]
            bottom = x[i, col + 2]
            edge = top if s == 0 else bottom
            far = bottom if s == 0 else top
            e = 0.5 * (top + bottom) if p[P_MID] > 0.0 else edge
            stop_px = far - g * p[P_BUF] * x[i, X_ATR]
            if not (g * (e - stop_px) > 0.0 and stop_px > 0.0):  # also NaN: ATR unknown
                continue
            st[b] = 1.0
            st[b + 1] = e
            st[b + 2] = stop_px
            st[b + 3] = i
        # 3. orders of the live setups
        n_cand = 0
        c_b = 0
        c_dir = 0.0
        c_target = np.nan
        for s in range(2):
            g = 1.0 if s == 0 else -1.0
            b = S_SIDE + 5 * s
            if st[b] == 0.0:
                continue
            e = st[b + 1]
            if not g * (x[i, X_CLOSE] - e) > 0.0:
                continue
            if p[P_TREND] > 0.0 and x[i, X_TREND] != g:
                continue
            if i - st[S_LAST] <= p[P_COOL]:
                continue
            risk = g * (e - st[b + 2])
            target = e + g * p[P_RR] * risk
            if p[P_TMODE] > 0.0:
                d = g * (x[i, X_WEAK + s] - e)
                if d >= p[P_MINRR] * risk:  # NaN compares False
                    target = e + g * d
            if not target > 0.0:  # a far short target can go below zero
                continue
            n_cand += 1
            c_b = b
            c_dir = g
            c_target = target
        if n_cand == 1:
            out[i, 0] = c_dir
            out[i, 1] = LIMIT
            out[i, 2] = st[c_b + 1]
            out[i, 3] = st[c_b + 2]
            out[i, 4] = c_target
            st[c_b + 4] = 1.0


def generate(
    data: Any, params: Params | None = None, detections: live.Detections | None = None
) -> Signals:
    """Signals for every bar of the OHLCV frame ``data`` (DatetimeIndex or a ``timestamp`` ms
    column); ``detections`` = a precomputed ``detect(data, **params.detector_params())`` frame
    (or a mapping column -> array holding at least this strategy's columns)."""
    return live.generate_with(spec, Params, data, params, detections)


def stream(params: Params | None = None, max_rows: int | None = None) -> live.StrategyStream:
    """The live form: feed closed bars one by one, get each bar's Signals row (``max_rows``:
    bounded memory for an endless feed, see :class:`strategies.live.StrategyStream`)."""
    return live.stream_with(spec, Params, params, max_rows)


@njit(cache=True)
def on_window(
    i: int,
    x_arena: np.ndarray,
    out_arena: np.ndarray,
    base: int,
    rows: int,
    p: np.ndarray,
    st: np.ndarray,
) -> None:
    """:func:`kernel` on row ``i`` of a stream's arenas (``live.windows``); the kernel is a
    global here, so numba's cache keeps this across processes (``Spec.on_window``)."""
    x, out = windows(x_arena, out_arena, base, rows)
    kernel(i, i + 1, x, p, st, out)
