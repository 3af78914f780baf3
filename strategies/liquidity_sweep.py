"""Liquidity sweep reversal: trade back into the range after resting liquidity is taken.

Built only on the causal SMC detectors (strategies/smc, docs/smc.md §3.3, §3.5, §3.9); every rule
reads row ``t`` of ``detect()`` (what is known at the close of bar ``t``) and bars ``<= t``.
Rules for a **long** (short mirrored: buy-side sweeps, highs for lows, bearish for bullish):

1. **Sweep** at bar ``s``: one of the enabled sell-side sweeps fires on row ``s`` —
   ``liq_ssl_sweep`` (equal-lows pool, ``sweep_pools``), ``liq_swing_low_sweep`` (latest
   internal-scale swing low, ``sweep_swings``), ``liq_pdl_sweep`` (previous-day low,
   ``sweep_prev_day``). A sweep = a wick below the level and a close back above it (within
   ``liq_reclaim_bars`` bars). The **swept extreme** = lowest low of bars ``from..s`` (``from`` =
   the earliest ``liq_*_from`` of the sweeps on that bar). The sweep arms a long setup valid on
   bars ``s .. s + confirm_bars``; a newer sell-side sweep replaces it.
2. **Invalidation** while armed: a close below the swept extreme drops the setup; a lower wick
   that closes back above moves the extreme down; after ``s + confirm_bars`` the setup expires.
3. **Trigger** at bar ``t`` of an armed setup: with ``confirm_bars = 0`` the sweep bar itself;
   otherwise the first bar in ``[s, s + confirm_bars]`` with an internal bullish CHoCH
   (``structure_internal_bull_kind = 2``). Filters at ``t`` (a failed filter ignores that trigger,
   the setup stays armed): ``trend_filter`` → ``structure_swing_trend = +1``; ``discount_only`` →
   ``zone_position = -1`` (discount of the swing-scale dealing range); cooldown → no entry signal
   in the previous ``cooldown`` bars (either side).
4. **Order**: MARKET long at the open of ``t + 1``. Reference price = ``close[t]``. Stop =
   swept extreme − ``stop_atr_buffer`` × ``atr[t]``; risk = ``close[t]`` − stop (no entry while ATR
   is unknown or risk ≤ 0). Target: ``target_mode = "rr"`` → ``close[t] + rr × risk``;
   ``"liquidity"`` → the nearest opposing liquidity above ``close[t]`` that pays at least
   ``min_rr`` R — the nearest untaken buy-side pool (``liq_bsl_near_level``) or the last swing-scale
   swing high (``last_high_level``) — else the ``rr`` target. No entry if the stop or the
   target is not a positive price (a far short target). The setup is consumed.
5. A long and a short triggering on the same bar cancel out (no entry; both stay armed).

The engine ignores an entry in the direction of an open position and treats an opposite one as
exit-and-reverse (research/backtest/engine.py); the strategy itself carries no position state, so
backtest and live emit the same rows. Batch and bar-by-bar run one numba kernel (strategies/live.py).
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
    Spec,
    StrategyParams,
    windows,
)
from strategies.signals import MARKET, Signals

NAME = "liquidity_sweep"
DEFAULT_SIZING = "risk"
CHOCH = 2.0


class Params(StrategyParams):
    """Strategy parameters; ``sweep``/``choices`` give the research grid."""

    sweep_pools: bool = Field(default=True, json_schema_extra={"choices": [True, False]})
    sweep_swings: bool = Field(default=True, json_schema_extra={"choices": [True, False]})
    sweep_prev_day: bool = Field(default=True, json_schema_extra={"choices": [True, False]})
    confirm_bars: int = Field(
        default=0, ge=0, le=500, json_schema_extra={"sweep": [0, 20, 5]},
        description="0 = enter on the sweep bar; else wait up to this many bars for an "
        "internal CHoCH",
    )  # fmt: skip
    target_mode: Literal["rr", "liquidity"] = Field(
        default="rr", json_schema_extra={"choices": ["rr", "liquidity"]}
    )
    discount_only: bool = Field(
        default=False, json_schema_extra={"choices": [False, True]},
        description="longs only in discount, shorts only in premium (zone_position)",
    )  # fmt: skip
    liq_tol_atr: float = Field(
        default=0.1, ge=0.0, le=10.0, json_schema_extra={"sweep": [0.05, 0.3, 0.05]}
    )
    liq_reclaim_bars: int = Field(default=0, ge=0, le=500, json_schema_extra={"sweep": [0, 3, 1]})

    DETECTOR_FIELDS: ClassVar[tuple[str, ...]] = (
        *StrategyParams.DETECTOR_FIELDS, "liq_tol_atr", "liq_reclaim_bars",
    )  # fmt: skip


# detector columns read by the kernel, after OHLC; per side (long, short) the three sources
COLUMNS = (
    "atr",
    "liq_ssl_sweep", "liq_ssl_from", "liq_swing_low_sweep", "liq_swing_low_from",
    "liq_pdl_sweep", "liq_pdl_from",
    "liq_bsl_sweep", "liq_bsl_from", "liq_swing_high_sweep", "liq_swing_high_from",
    "liq_pdh_sweep", "liq_pdh_from",
    "structure_internal_bull_kind", "structure_internal_bear_kind",
    "structure_swing_trend", "zone_position",
    "liq_bsl_near_level", "last_high_level", "liq_ssl_near_level", "last_low_level",
)  # fmt: skip
X_ATR = N_BAR_COLS
X_SRC = N_BAR_COLS + 1  # side s, source k: sweep at X_SRC + 6 s + 2 k, from at +1
X_CHOCH = N_BAR_COLS + 13  # + s
X_TREND = N_BAR_COLS + 15
X_ZONE = N_BAR_COLS + 16
X_OPP = N_BAR_COLS + 17  # side s: nearest pool at X_OPP + 2 s, last swing at + 1

# parameter vector
P_SIDE, P_SRC, P_CONFIRM, P_BUF, P_RR, P_TMODE, P_MINRR, P_TREND, P_ZONE, P_COOL = (
    0, 1, 4, 5, 6, 7, 8, 9, 10, 11,
)  # fmt: skip
N_PARAMS = 12
# state: last entry bar, then per side (armed, swept extreme, deadline)
S_LAST, S_SIDE = 0, 1
N_STATE = 7


def spec(params: Params) -> Spec:
    """Kernel inputs for one parameter set."""
    p = np.zeros(N_PARAMS)
    p[P_SIDE] = SIDES[params.side]
    p[P_SRC : P_SRC + 3] = (params.sweep_pools, params.sweep_swings, params.sweep_prev_day)
    p[P_CONFIRM] = params.confirm_bars
    p[P_BUF] = params.stop_atr_buffer
    p[P_RR] = params.rr
    p[P_TMODE] = params.target_mode == "liquidity"
    p[P_MINRR] = params.min_rr
    p[P_TREND] = params.trend_filter
    p[P_ZONE] = params.discount_only
    p[P_COOL] = params.cooldown
    state = np.array([NEVER, 0.0, np.nan, -1.0, 0.0, np.nan, -1.0])
    refs = tuple(c for c in COLUMNS if c.endswith("_from"))  # a sweep's wick bar: the kernel
    # reads input rows from there, at most liq_reclaim_bars back (sweep = reclaim within that)
    return Spec(
        COLUMNS, p, state, kernel, params.detector_params(), on_window=on_window,
        lookback=params.liq_reclaim_bars, ref_columns=refs,
    )  # fmt: skip


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
        n_cand = 0
        c_dir = 0.0
        c_stop = np.nan
        c_target = np.nan
        c_b = 0
        close = x[i, X_CLOSE]
        for s in range(2):
            g = 1.0 if s == 0 else -1.0
            if p[P_SIDE] != 0.0 and p[P_SIDE] != g:
                continue
            b = S_SIDE + 3 * s
            ext_col = X_LOW if s == 0 else X_HIGH
            # 1. age the armed setup with this bar: expiry, close beyond the extreme, new extreme
            if st[b] > 0.0:
                if i > st[b + 2] or g * (close - st[b + 1]) < 0.0:
                    st[b] = 0.0
                elif g * (x[i, ext_col] - st[b + 1]) < 0.0:
                    st[b + 1] = x[i, ext_col]
            # 2. a sweep on this bar (re)arms the setup
            frm = i + 1.0
            for k in range(3):
                col = X_SRC + 6 * s + 2 * k
                if p[P_SRC + k] > 0.0 and x[i, col] > 0.0 and x[i, col + 1] < frm:
                    frm = x[i, col + 1]
            if frm <= i:
                j0 = int(frm) if frm >= 0.0 else i
                ext = x[j0, ext_col]
                for j in range(j0 + 1, i + 1):
                    if g * (x[j, ext_col] - ext) < 0.0:
                        ext = x[j, ext_col]
                st[b] = 1.0
                st[b + 1] = ext
                st[b + 2] = i + p[P_CONFIRM]
            if st[b] == 0.0:
                continue
            # 3. trigger and filters
            if p[P_CONFIRM] > 0.0 and x[i, X_CHOCH + s] != CHOCH:
                continue
            if p[P_TREND] > 0.0 and x[i, X_TREND] != g:
                continue
            if p[P_ZONE] > 0.0 and x[i, X_ZONE] != -g:
                continue
            if i - st[S_LAST] <= p[P_COOL]:
                continue
            stop_px = st[b + 1] - g * p[P_BUF] * x[i, X_ATR]
            risk = g * (close - stop_px)
            if not risk > 0.0:  # also NaN: ATR not known yet
                continue
            target = close + g * p[P_RR] * risk
            if p[P_TMODE] > 0.0:
                best = np.inf
                for col in (X_OPP + 2 * s, X_OPP + 2 * s + 1):
                    d = g * (x[i, col] - close)
                    if d >= p[P_MINRR] * risk and d < best:  # NaN compares False
                        best = d
                if best < np.inf:
                    target = close + g * best
            if not (stop_px > 0.0 and target > 0.0):  # a far short target can go below zero
                continue
            n_cand += 1
            c_dir = g
            c_stop = stop_px
            c_target = target
            c_b = b
        if n_cand == 1:
            out[i, 0] = c_dir
            out[i, 3] = c_stop
            out[i, 4] = c_target
            st[S_LAST] = i
            st[c_b] = 0.0


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
