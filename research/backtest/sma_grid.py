"""Fused sma_cross grid: signals computed inside the kernel, summaries only.

Why a separate kernel: the general grid (engine.simulate_batch) reads eight variants x bars
signal arrays that first have to be written (generate_grid: 2 bytes per bar-variant, then
read back from memory). Here the crossing is evaluated per bar from the two SMA rows. The
variants are split into one chunk per thread; each chunk walks the bars in blocks: per block,
each distinct window its variants use gets its SMA computed once (strategies.sma_cross.sma_into,
bit-identical to sma()), then every variant advances its O(1) state over the block while the
block's prices and SMA rows are still in cache. Memory is O(windows x block + variants),
independent of the number of bars; there are no variants x bars arrays.

The per-bar logic is engine.simulate specialised to what sma_cross emits (long-only market
entries, exit_long, no stop/target/trail): every fill, exit, funding print and mark goes
through the same inlined booking functions (research/backtest/booking.py) in the same order,
so the summaries are bit-identical to run_grid on generate_grid's arrays (tested).
"""

from __future__ import annotations

from collections.abc import Sequence

import numba
import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit, prange

from research.backtest import engine as k
from research.backtest.bars import Bars
from research.backtest.booking import (
    drawdown,
    drawdown_flat,
    enter,
    exit_taker,
    inside_rates,
    margin_of,
    pay_funding,
    sizing_of,
)
from research.backtest.config import BacktestConfig
from research.backtest.funding import FundingAlignment
from research.backtest.runner import _inputs, grid_summary
from strategies import metrics as m
from strategies.signals import SignalError
from strategies.sma_cross import Params, cross, sma_into

BLOCK = 2048  # bars per block: windows x BLOCK x 8 bytes of SMA rows stay in L2/L3

# per-variant state row (float64), carried from block to block
(
    X_CASH, X_QTY, X_EPX, X_EBAR, X_EFEE, X_FUNDACC, X_LIQ, X_PEXIT, X_PENTRY, X_FUNDTOT,
    X_SKIPPED, X_EXPOSURE, X_PREVEQ, X_PEAK, X_DDFLOOR, X_MAXDD, X_DDBARS, X_MAXDDBARS,
    X_NB, X_APREV, X_MOM, _M1, _M2, X_ACC,
) = range(24)  # fmt: skip
N_X = X_ACC + 6  # acc slots: engine.A_*


@njit(cache=True)
def _start(cfg: np.ndarray, x: np.ndarray, buf: np.ndarray) -> None:
    """The state simulate() starts from."""
    x[:] = 0.0
    cash = cfg[k.C_CASH]
    x[X_CASH] = cash
    x[X_PREVEQ] = cash
    x[X_PEAK] = cash
    x[X_DDFLOOR] = cash
    x[X_APREV] = np.nan
    buf[0] = cash


@njit(cache=True)
def _advance(
    i0: int,
    i1: int,
    base: int,
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    funding: np.ndarray,
    slip_abs: np.ndarray,
    fast: np.ndarray,
    slow: np.ndarray,
    cfg: np.ndarray,
    x: np.ndarray,
    buf: np.ndarray,
    no_trades: np.ndarray,
) -> None:
    """Advance one variant over bars [i0, i1); fast/slow hold the SMA values of the block
    that starts at bar `base` (<= i0)."""
    n = c.shape[0]
    taker = cfg[k.C_TAKER]
    slip = cfg[k.C_SLIP]
    close_end = cfg[k.C_END] > 0.0
    mg = margin_of(cfg)
    sz = sizing_of(cfg)
    fund = funding.shape[1] > 0
    inside = fund and funding.shape[0] == 3
    acc = x[X_ACC : X_ACC + 6]
    mom = x[X_MOM : X_MOM + 3]
    cash = x[X_CASH]
    qty = x[X_QTY]
    e_px = x[X_EPX]
    e_bar = int(x[X_EBAR])
    e_fee = x[X_EFEE]
    fund_acc = x[X_FUNDACC]
    liq = x[X_LIQ]
    p_exit = x[X_PEXIT] != 0.0
    p_entry = x[X_PENTRY] != 0.0
    fund_tot = x[X_FUNDTOT]
    skipped = int(x[X_SKIPPED])
    exposure = int(x[X_EXPOSURE])
    prev_eq = x[X_PREVEQ]
    peak = x[X_PEAK]
    dd_floor = x[X_DDFLOOR]
    max_dd = x[X_MAXDD]
    dd_bars = int(x[X_DDBARS])
    max_dd_bars = int(x[X_MAXDDBARS])
    nb = int(x[X_NB])
    a_prev = x[X_APREV]
    # a local buffer: LLVM then knows the per-bar store aliases none of the inputs
    lbuf = np.empty(k.RET_BLOCK + 1)
    lbuf[: nb + 1] = buf[: nb + 1]
    i = i0
    while i < i1:
        if qty == 0.0 and not p_entry:
            # flat: scan for the next entry crossing, then book the flat bars in bulk (equity
            # is the cash on each of them; same values, same order as the per-bar path)
            j = i
            while j < i1:
                a1 = fast[j - base] - slow[j - base]
                sig = cross(a_prev, a1)
                a_prev = a1
                j += 1
                if sig > 0:
                    p_entry = True
                    break
            for _ in range(j - i):
                nb += 1
                lbuf[nb] = cash
                if nb == k.RET_BLOCK:
                    k._sum_returns(lbuf, nb, mom)
                    lbuf[0] = cash
                    nb = 0
            prev_eq = cash
            peak, dd_floor, max_dd, dd_bars, max_dd_bars = drawdown_flat(
                cash, j - i, peak, dd_floor, max_dd, dd_bars, max_dd_bars
            )
            i = j
            continue
        if qty != 0.0 and not p_exit:
            # held: run through the bars on which only marking happens (no funding print,
            # liquidation level untouched, not the last bar), up to and including an exit cross
            j = i
            while j < i1 and j < n - 1:
                if lo[j] <= liq or (fund and (funding[0, j] != 0.0 or (
                        inside and (funding[1, j] != 0.0 or funding[2, j] != 0.0)))):  # fmt: skip
                    break
                eq = cash + qty * (c[j] - e_px)
                nb += 1
                lbuf[nb] = eq
                if nb == k.RET_BLOCK:
                    k._sum_returns(lbuf, nb, mom)
                    lbuf[0] = eq
                    nb = 0
                prev_eq = eq
                peak, dd_floor, max_dd, dd_bars, max_dd_bars = drawdown(
                    eq, peak, dd_floor, max_dd, dd_bars, max_dd_bars
                )
                a1 = fast[j - base] - slow[j - base]
                sig = cross(a_prev, a1)
                a_prev = a1
                j += 1
                if sig < 0:
                    p_exit = True
                    break
            if j > i:
                exposure += j - i
                i = j
                continue
        oi = o[i]
        held = qty != 0.0
        # 1. funding settled at the open, on the position carried into the bar
        if held and fund and funding[0, i] != 0.0:
            cash, fund_acc, fund_tot, liq = pay_funding(
                qty, oi, funding[0, i], e_px, mg, cash, fund_acc, fund_tot
            )
        # 2. market exit at the open
        if p_exit:
            p_exit = False
            if qty != 0.0:
                cash += exit_taker(no_trades, acc, e_bar, i, qty, e_px, oi, slip, slip_abs[i],
                                   e_fee, taker, fund_acc, k.EXIT_SIGNAL)  # fmt: skip
                qty = 0.0
        # 3. pending market entry (long)
        if p_entry and qty == 0.0:
            p_entry = False
            f_px = k._slipped(oi, 1.0, slip, slip_abs[i])
            qty, e_fee, cash, liq = enter(cash, 1.0, f_px, np.nan, taker, sz, mg)
            if qty != 0.0:
                acc[k.A_FEES] += e_fee
                e_px = f_px
                e_bar = i
                fund_acc = 0.0
                held = True
            else:
                skipped += 1
        # 3b. funding settled inside the bar: the costly prints now, the others after step 4
        credit = 0.0
        if inside and qty != 0.0:
            cost, credit = inside_rates(funding[1, i], funding[2, i], qty)
            if cost != 0.0:
                cash, fund_acc, fund_tot, liq = pay_funding(
                    qty, oi, cost, e_px, mg, cash, fund_acc, fund_tot
                )
        # 4. liquidation, the only resting exit of a stop-less long
        if qty != 0.0 and lo[i] <= liq:
            cash += exit_taker(no_trades, acc, e_bar, i, qty, e_px, oi if oi < liq else liq, slip,
                               slip_abs[i], e_fee, taker, fund_acc, k.EXIT_LIQUIDATION)  # fmt: skip
            qty = 0.0
        # 3b (end). held from the open through the close: the paying inside prints too
        if credit != 0.0 and qty != 0.0:
            cash, fund_acc, fund_tot, liq = pay_funding(
                qty, oi, credit, e_px, mg, cash, fund_acc, fund_tot
            )
        if i == n - 1 and qty != 0.0 and close_end:
            cash += exit_taker(no_trades, acc, e_bar, i, qty, e_px, c[i], slip, slip_abs[i], e_fee,
                               taker, fund_acc, k.EXIT_END)  # fmt: skip
            qty = 0.0
        if held:
            exposure += 1
        # 5. mark to market, returns (blocked, as in simulate), drawdown
        eq = cash + qty * (c[i] - e_px) if qty != 0.0 else cash
        nb += 1
        lbuf[nb] = eq
        if nb == k.RET_BLOCK:
            k._sum_returns(lbuf, nb, mom)
            lbuf[0] = eq
            nb = 0
        prev_eq = eq
        peak, dd_floor, max_dd, dd_bars, max_dd_bars = drawdown(
            eq, peak, dd_floor, max_dd, dd_bars, max_dd_bars
        )
        # 7. this bar's crossing becomes an order for the next bar
        a1 = fast[i - base] - slow[i - base]
        sig = cross(a_prev, a1)
        a_prev = a1
        if qty != 0.0:
            if sig < 0:
                p_exit = True
        elif sig > 0:
            p_entry = True
        i += 1
    buf[: nb + 1] = lbuf[: nb + 1]
    x[X_CASH] = cash
    x[X_QTY] = qty
    x[X_EPX] = e_px
    x[X_EBAR] = e_bar
    x[X_EFEE] = e_fee
    x[X_FUNDACC] = fund_acc
    x[X_LIQ] = liq
    x[X_PEXIT] = 1.0 if p_exit else 0.0
    x[X_PENTRY] = 1.0 if p_entry else 0.0
    x[X_FUNDTOT] = fund_tot
    x[X_SKIPPED] = skipped
    x[X_EXPOSURE] = exposure
    x[X_PREVEQ] = prev_eq
    x[X_PEAK] = peak
    x[X_DDFLOOR] = dd_floor
    x[X_MAXDD] = max_dd
    x[X_DDBARS] = dd_bars
    x[X_MAXDDBARS] = max_dd_bars
    x[X_NB] = nb
    x[X_APREV] = a_prev


@njit(cache=True)
def _finish(x: np.ndarray, buf: np.ndarray, stats: np.ndarray) -> None:
    """The summary layout simulate() writes (engine.S_*)."""
    mom = x[X_MOM : X_MOM + 3]
    k._sum_returns(buf, int(x[X_NB]), mom)
    stats[k.S_EQUITY] = x[X_PREVEQ]
    stats[k.S_TRADES] = x[X_ACC + k.A_TRADES]
    stats[k.S_WINS] = x[X_ACC + k.A_WINS]
    stats[k.S_GROSS_WIN] = x[X_ACC + k.A_GWIN]
    stats[k.S_GROSS_LOSS] = x[X_ACC + k.A_GLOSS]
    stats[k.S_MAX_DD] = x[X_MAXDD]
    stats[k.S_DD_BARS] = x[X_MAXDDBARS]
    stats[k.S_SUM_R] = mom[0]
    stats[k.S_SUM_R2] = mom[1]
    stats[k.S_SUM_DOWN2] = mom[2]
    stats[k.S_EXPOSURE] = x[X_EXPOSURE]
    stats[k.S_FEES] = x[X_ACC + k.A_FEES]
    stats[k.S_FUNDING] = x[X_FUNDTOT]
    stats[k.S_LIQUIDATIONS] = x[X_ACC + k.A_LIQS]
    stats[k.S_SKIPPED] = x[X_SKIPPED]


@njit(cache=True)
def _run_chunk(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    funding: np.ndarray,
    slip_abs: np.ndarray,
    windows: np.ndarray,
    fast_idx: np.ndarray,
    slow_idx: np.ndarray,
    cfg: np.ndarray,
    stats: np.ndarray,
    ends: np.ndarray,
    period_eq: np.ndarray,
    block: int,
    v0: int,
    v1: int,
) -> None:
    """Variants [v0, v1) over all bars, block by block, with the SMA rows they use; at each
    period end e in `ends` a variant's equity at bar e - 1 goes to period_eq[v, period]."""
    n = c.shape[0]
    n_win = windows.shape[0]
    n_end = ends.shape[0]
    used = np.zeros(n_win, dtype=np.bool_)
    for v in range(v0, v1):
        used[fast_idx[v]] = True
        used[slow_idx[v]] = True
    smas = np.empty((n_win, block))
    sums = np.zeros((n_win, 2))
    state = np.empty((v1 - v0, N_X))
    bufs = np.empty((v1 - v0, k.RET_BLOCK + 1))
    no_trades = np.empty((0, k.N_TRADE_COLS))
    rows = cfg.shape[0]
    for v in range(v0, v1):
        _start(cfg[0 if rows == 1 else v], state[v - v0], bufs[v - v0])
    p0 = 0  # first period end not yet reached
    while p0 < n_end and ends[p0] <= 0:  # an empty first period: the equity before bar 0
        for v in range(v0, v1):
            period_eq[v, p0] = state[v - v0, X_PREVEQ]
        p0 += 1
    for i0 in range(0, n, block):
        i1 = min(n, i0 + block)
        for u in range(n_win):
            if used[u]:
                sma_into(c, windows[u], i0, i1, sums[u], smas[u])
        p1 = p0  # period ends inside (i0, i1]
        while p1 < n_end and ends[p1] <= i1:
            p1 += 1
        for v in range(v0, v1):
            x = state[v - v0]
            cv = cfg[0 if rows == 1 else v]
            fs, ss, buf = smas[fast_idx[v]], smas[slow_idx[v]], bufs[v - v0]
            s = i0
            for q in range(p0, p1):  # cut the block at each period end (state carries over)
                if ends[q] > s:
                    _advance(s, ends[q], i0, o, h, lo, c, funding, slip_abs, fs, ss, cv, x, buf,
                             no_trades)  # fmt: skip
                    s = ends[q]
                period_eq[v, q] = x[X_PREVEQ]  # equity marked at bar ends[q] - 1
            if s < i1:
                _advance(s, i1, i0, o, h, lo, c, funding, slip_abs, fs, ss, cv, x, buf,
                         no_trades)  # fmt: skip
        p0 = p1
    for v in range(v0, v1):
        _finish(state[v - v0], bufs[v - v0], stats[v])


@njit(cache=True, parallel=True)
def simulate_sma_grid(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    funding: np.ndarray,
    slip_abs: np.ndarray,
    windows: np.ndarray,
    fast_idx: np.ndarray,
    slow_idx: np.ndarray,
    cfg: np.ndarray,
    stats: np.ndarray,
    ends: np.ndarray,
    period_eq: np.ndarray,
    block: int,
    chunks: int,
) -> None:
    """Variant v crosses SMA(windows[fast_idx[v]]) over SMA(windows[slow_idx[v]]) on closes.

    One parallel task per chunk of consecutive variants, each walking all bars on its own
    (no barrier per block: on a busy 2-core machine a thread wake-up costs more than a
    block). A window used by two chunks is computed by both. `cfg` is (V, N_CFG) or
    (1, N_CFG); `stats` is (V, N_STATS); `ends` (P,) non-decreasing bar indices in [0, n]
    and `period_eq` (V, P) receive each variant's equity at the end of each period (what the
    overfitting statistics read, with no variants x bars array; P = 0 records nothing)."""
    n_var = fast_idx.shape[0]
    for ch in prange(chunks):
        v0 = ch * n_var // chunks
        v1 = (ch + 1) * n_var // chunks
        if v1 > v0:
            _run_chunk(o, h, lo, c, funding, slip_abs, windows, fast_idx, slow_idx, cfg, stats,
                       ends, period_eq, block, v0, v1)  # fmt: skip


def simulate_pairs(
    arrays: tuple[np.ndarray, ...],
    fast: np.ndarray,
    slow: np.ndarray,
    cfg: np.ndarray,
    ends: np.ndarray | None = None,
    block: int = BLOCK,
    chunks: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Summary stats (V, N_STATS) and period-end equity (V, len(ends)) of checked (fast, slow)
    int64 pairs on arrays = (open, high, low, close, funding rates, absolute slippage)."""
    o, h, lo, c, rates, slip_abs = arrays
    n = c.shape[0]
    e = np.zeros(0, dtype=np.int64) if ends is None else np.asarray(ends, dtype=np.int64)
    if e.ndim != 1 or (e.size and (e[0] < 0 or e[-1] > n or np.any(np.diff(e) < 0))):
        raise ValueError(f"period ends must be non-decreasing bar indices in [0, {n}]")
    windows, inverse = np.unique(np.concatenate((fast, slow)), return_inverse=True)
    stats = np.zeros((fast.size, k.N_STATS))
    period_eq = np.empty((fast.size, e.size))
    simulate_sma_grid(
        o, h, lo, c, rates, slip_abs, windows, inverse[: fast.size].astype(np.int64),
        inverse[fast.size :].astype(np.int64), cfg, stats, e, period_eq, max(1, min(block, n)),
        max(1, min(chunks or numba.get_num_threads(), fast.size)),
    )  # fmt: skip
    return stats, period_eq


def _pairs(fast: npt.ArrayLike, slow: npt.ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    """Check every (fast, slow) pair with Params' bounds, vectorised (no per-variant Python)."""
    f = np.asarray(fast)
    s = np.asarray(slow)
    if f.shape != s.shape or f.ndim != 1 or f.size == 0:
        raise ValueError("fast and slow must be non-empty 1-D arrays of the same length")
    if not (np.issubdtype(f.dtype, np.integer) and np.issubdtype(s.dtype, np.integer)):
        raise ValueError("fast and slow must be integer window lengths")
    fields = Params.model_fields
    f_lo, f_hi = (fields["fast"].metadata[0].ge, fields["fast"].metadata[1].le)
    s_lo, s_hi = (fields["slow"].metadata[0].ge, fields["slow"].metadata[1].le)
    bad = (f < f_lo) | (f > f_hi) | (s < s_lo) | (s > s_hi) | (f >= s)
    if bad.any():
        j = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"variant {j}: fast={int(f[j])}, slow={int(s[j])} breaks sma_cross.Params "
            f"({f_lo} <= fast < slow, fast <= {f_hi}, {s_lo} <= slow <= {s_hi})"
        )
    return f.astype(np.int64), s.astype(np.int64)


def run_sma_grid(
    bars: Bars,
    fast: npt.ArrayLike,
    slow: npt.ArrayLike,
    configs: BacktestConfig | Sequence[BacktestConfig] | None = None,
    funding: FundingAlignment | None = None,
    block: int = BLOCK,
    chunks: int | None = None,
) -> pd.DataFrame:
    """sma_cross over many (fast, slow) pairs: the same rows run_grid returns for
    generate_grid's signals, without the variants x bars signal arrays.

    Costs, slippage and funding come from the first config, as in run_grid. `chunks`
    (default: numba's thread count) is how many parallel tasks the variants are split into."""
    f, s = _pairs(fast, slow)
    cfgs = [configs or BacktestConfig()] if not isinstance(configs, Sequence) else list(configs)
    if len(cfgs) not in (1, f.size):
        raise ValueError(f"{len(cfgs)} configs for {f.size} variants")
    if any(c.sizing == "risk" for c in cfgs):
        raise SignalError("sma_cross sets no stop, and risk sizing needs one (use all_in/fraction)")
    if block < 1:
        raise ValueError(f"block must be >= 1, got {block}")
    rates, slip_abs = _inputs(bars, cfgs[0], funding)
    cfg = np.stack([c.vector() for c in cfgs])
    arrays = (bars.open, bars.high, bars.low, bars.close, rates, slip_abs)
    stats, _ = simulate_pairs(arrays, f, s, cfg, None, block, chunks)
    return grid_summary(stats, cfg[:, k.C_CASH], len(bars), m.periods_per_year(bars.timeframe))
