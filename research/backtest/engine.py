"""The numba core: one pass over the bars, one symbol, one position at a time.

Timing (signals are computed at bar t's close; nothing of bar t+1 is known then):

1. funding prints settled at bar i's open instant are paid by the position carried into the
   bar, before the open's fills, notional at open[i] (longs pay a positive rate, shorts
   receive it); prints settled strictly inside the bar come at step 3b (funding.py);
2. a pending market exit (exit signal, or an opposite entry) fills at open[i] -/+ slippage;
3. a pending entry fills: market at open[i] + slippage (taker); limit when the bar opens
   through the price (fill at the open) or trades strictly through it (fill at the limit,
   maker, no slippage); stop when the bar opens beyond it (fill at the open, worse) or touches
   it (fill at the stop) + slippage (taker). An unfilled resting entry lives `entry_ttl` bars.
   An entry whose fill price is already beyond its own stop or target is skipped;
3b. prints settled strictly inside bar i (bars longer than the funding interval) are paid by
   the position held after the open's fills: all of them when it is held from the open to the
   close; when it changes inside the bar at an unknown instant (an intrabar entry, or an
   intrabar stop / target / liquidation exit) only the prints that cost it are charged, none
   that would pay it (no fill time is worse). The costly ones are charged before the intrabar
   exits are checked (they move the liquidation price), the others credited after, if the
   position was held from the open and is still held;
4. stop-loss / trailing stop / liquidation / take-profit are resting orders checked on bar i's
   range: when both an adverse level and the target lie inside the bar the adverse one fills
   (conservative); a bar that opens through a stop fills at the open (worse price); after an
   intrabar entry only the adverse levels are checked in that bar;
5. equity is marked at close[i]: cash + qty x (close - entry price);
6. the trailing stop is ratcheted with bar i's extreme (for use from bar i+1);
7. the signals of bar i are read and become pending orders for bar i+1.

Liquidation (Hyperliquid cross margin, one position): the account is liquidated when equity
falls to the maintenance margin `mm_rate x |qty| x price` (mm_rate = 1 / (2 x max leverage)),
or with margin tiers max over tiers of (notional x r_n - d_n) (margin.py); entries are sized
within the tiers' max leverage. The fill is at the liquidation price (or the open if the bar
gapped through it) with the taker fee and slippage; whatever equity remains stays with the
account.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from research.backtest.booking import (  # noqa: F401 - layouts re-exported for callers
    A_FEES,
    A_GLOSS,
    A_GWIN,
    A_LIQS,
    A_TRADES,
    A_WINS,
    C_CASH,
    C_END,
    C_FRAC,
    C_LEV,
    C_MAKER,
    C_MM,
    C_MODE,
    C_NT,
    C_RISK,
    C_SLIP,
    C_STEP,
    C_TAKER,
    C_TB,
    C_TD,
    C_TL,
    C_TR,
    C_TTL,
    EXIT_END,
    EXIT_LIQUIDATION,
    EXIT_REASONS,
    EXIT_SIGNAL,
    EXIT_STOP,
    EXIT_TARGET,
    EXIT_TRAIL,
    MAX_TIERS,
    N_ACC,
    N_CFG,
    N_TRADE_COLS,
    RET_BLOCK,
    T_ENTRY_BAR,
    T_ENTRY_PX,
    T_EXIT_BAR,
    T_EXIT_PX,
    T_FEES,
    T_FUNDING,
    T_PNL,
    T_REASON,
    T_SIDE,
    T_SIZE,
    _book,
    _liquidation_price,
    _slipped,
    _sum_returns,
    drawdown,
    drawdown_flat,
    enter,
    exit_taker,
    inside_rates,
    margin_of,
    pay_funding,
    sizing_of,
)

# per-variant summary layout (float64)
(
    S_EQUITY,
    S_TRADES,
    S_WINS,
    S_GROSS_WIN,
    S_GROSS_LOSS,
    S_MAX_DD,
    S_DD_BARS,
    S_SUM_R,
    S_SUM_R2,
    S_SUM_DOWN2,
    S_EXPOSURE,
    S_FEES,
    S_FUNDING,
    S_LIQUIDATIONS,
    S_SKIPPED,
) = range(15)
N_STATS = 15

# per-bar record rows (record mode only)
R_EQUITY, R_CASH, R_POSITION = range(3)
N_REC = 3


@njit(cache=True)
def _hold_run(
    i: int,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    funding: np.ndarray,
    entry: np.ndarray,
    exit_long: np.ndarray,
    exit_short: np.ndarray,
    long: bool,
    adverse: float,
    tp: float,
    cash: float,
    qty: float,
    e_px: float,
    rec: np.ndarray,
    record: bool,
    buf: np.ndarray,
    mom: np.ndarray,
    nb: int,
    prev_eq: float,
    peak: float,
    dd_floor: float,
    max_dd: float,
    dd_bars: int,
    max_dd_bars: int,
) -> tuple[int, int, float, float, float, float, int, int]:
    """Mark a held position through the bars from i on where nothing can happen (no funding
    print, no resting level touched, no signal, not the last bar); return the first bar
    where something might, and the updated accumulators.

    Why a separate function: the tight loop compiles to far fewer instructions than the
    same loop inside simulate's large body (measured ~1.8x on held bars)."""
    n = c.shape[0]
    fund = funding.shape[1] > 0
    inside = funding.shape[0] == 3
    has_tp = not math.isnan(tp)  # skip reading the far side of the range when no target
    j = i
    for j in range(i, n):
        if j == n - 1 or entry[j] != 0 or exit_long[j] or exit_short[j]:
            break
        if fund and (
            funding[0, j] != 0.0 or (inside and (funding[1, j] != 0.0 or funding[2, j] != 0.0))
        ):
            break
        if long:
            if lo[j] <= adverse or (has_tp and h[j] >= tp):
                break
        elif h[j] >= adverse or (has_tp and lo[j] <= tp):
            break
        eq = cash + qty * (c[j] - e_px)
        if record:
            rec[R_EQUITY, j] = eq
            rec[R_CASH, j] = cash
            rec[R_POSITION, j] = qty
        nb += 1
        buf[nb] = eq
        if nb == RET_BLOCK:
            _sum_returns(buf, nb, mom)
            buf[0] = eq
            nb = 0
        prev_eq = eq
        peak, dd_floor, max_dd, dd_bars, max_dd_bars = drawdown(
            eq, peak, dd_floor, max_dd, dd_bars, max_dd_bars
        )
    return j, nb, prev_eq, peak, dd_floor, max_dd, dd_bars, max_dd_bars


@njit(cache=True)
def simulate(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    funding: np.ndarray,
    slip_abs: np.ndarray,
    entry: np.ndarray,
    entry_kind: np.ndarray,
    entry_price: np.ndarray,
    stop: np.ndarray,
    target: np.ndarray,
    trail: np.ndarray,
    exit_long: np.ndarray,
    exit_short: np.ndarray,
    cfg: np.ndarray,
    stats: np.ndarray,
    trades: np.ndarray,
    rec: np.ndarray,
) -> int:
    """Run one variant; fill `stats` (N_STATS), and `trades`/`rec` when they have room.

    `funding` is (1, n) [prints at the open] or (3, n) [at the open, positive inside,
    negative inside] (funding.FundingAlignment.kernel_rows), or (1, 0) when none applies. Returns the number of trades (which
    may exceed `trades.shape[0]`; extra rows are dropped).
    """
    n = o.shape[0]
    record = rec.shape[1] == n
    fund = funding.shape[1] > 0  # empty when no funding applies (saves a stream per bar)
    inside = fund and funding.shape[0] == 3  # prints strictly inside bars
    cash = cfg[C_CASH]
    taker = cfg[C_TAKER]
    maker = cfg[C_MAKER]
    slip = cfg[C_SLIP]
    ttl = int(cfg[C_TTL])
    mg = margin_of(cfg)
    sz = sizing_of(cfg)
    acc = np.zeros(N_ACC)

    qty = 0.0  # signed position
    e_px = 0.0
    e_bar = 0
    e_fee = 0.0
    fund_acc = 0.0
    liq = 0.0
    sl = np.nan
    tp = np.nan
    tr_dist = np.nan
    tr_px = np.nan
    extreme = 0.0

    p_exit = False
    p_dir = 0
    p_kind = 0
    p_price = np.nan
    p_sl = np.nan
    p_tp = np.nan
    p_tr = np.nan
    p_age = 0

    fund_tot = 0.0
    skipped = 0
    exposure = 0
    prev_eq = cash
    peak = cash
    dd_floor = cash  # equity below this is a new max drawdown: peak x (1 - max_dd)
    max_dd = 0.0
    dd_bars = 0
    max_dd_bars = 0
    mom = np.zeros(3)  # sum r, sum r^2, sum min(r, 0)^2
    buf = np.empty(RET_BLOCK + 1)
    buf[0] = cash
    nb = 0

    i = 0
    while i < n:
        if qty == 0.0 and p_dir == 0:
            # flat with nothing pending: skip to the next entry signal and book the flat bars
            # in bulk (equity = cash on each; same values, same order as the per-bar path)
            j = i
            while j < n and entry[j] == 0:
                j += 1
            if j > i:
                if record:
                    rec[R_EQUITY, i:j] = cash
                    rec[R_CASH, i:j] = cash
                    rec[R_POSITION, i:j] = 0.0
                for _ in range(j - i):
                    nb += 1
                    buf[nb] = cash
                    if nb == RET_BLOCK:
                        _sum_returns(buf, nb, mom)
                        buf[0] = cash
                        nb = 0
                prev_eq = cash
                peak, dd_floor, max_dd, dd_bars, max_dd_bars = drawdown_flat(
                    cash, j - i, peak, dd_floor, max_dd, dd_bars, max_dd_bars
                )
                i = j
                continue
        elif qty != 0.0 and not p_exit and p_dir == 0 and not tr_dist > 0.0:
            # holding with fixed resting levels: run through the bars on which nothing can
            # happen (no funding print, no level touched, no signal, not the last bar); the
            # first bar where something might is left to the full per-bar path below
            long = qty > 0
            adverse = liq
            if long:
                if sl > adverse:
                    adverse = sl
            elif sl < adverse:
                adverse = sl
            j, nb, prev_eq, peak, dd_floor, max_dd, dd_bars, max_dd_bars = _hold_run(
                i, h, lo, c, funding, entry, exit_long, exit_short, long, adverse, tp, cash,
                qty, e_px, rec, record, buf, mom, nb, prev_eq, peak, dd_floor, max_dd, dd_bars,
                max_dd_bars,
            )  # fmt: skip
            if j > i:
                exposure += j - i
                i = j
                continue
        oi = o[i]
        held = qty != 0.0
        intrabar = False  # True when this bar's entry filled after the open
        # 1. funding settled at the open, on the position carried into the bar
        if held and fund and funding[0, i] != 0.0:
            cash, fund_acc, fund_tot, liq = pay_funding(
                qty, oi, funding[0, i], e_px, mg, cash, fund_acc, fund_tot
            )
        # 2. market exit at the open
        if p_exit:
            p_exit = False
            if qty != 0.0:
                cash += exit_taker(trades, acc, e_bar, i, qty, e_px, oi, slip, slip_abs[i], e_fee,
                                   taker, fund_acc, EXIT_SIGNAL)  # fmt: skip
                qty = 0.0
        # 3. pending entry
        if p_dir != 0 and qty == 0.0:
            d = float(p_dir)
            f_px = np.nan
            f_fee = taker
            at_open = True
            if p_kind == 0:
                f_px = _slipped(oi, d, slip, slip_abs[i])
            elif p_kind == 1:
                f_fee = maker
                if (oi - p_price) * d <= 0.0:
                    f_px = oi
                elif (p_dir > 0 and lo[i] < p_price) or (p_dir < 0 and h[i] > p_price):
                    f_px = p_price
                    at_open = False
            else:
                if (oi - p_price) * d >= 0.0:
                    f_px = _slipped(oi, d, slip, slip_abs[i])
                elif (p_dir > 0 and h[i] >= p_price) or (p_dir < 0 and lo[i] <= p_price):
                    f_px = _slipped(p_price, d, slip, slip_abs[i])
                    at_open = False
            if not math.isnan(f_px):
                p_dir = 0
                if not ((p_sl - f_px) * d >= 0.0 or (p_tp - f_px) * d <= 0.0):
                    qty, e_fee, cash, liq = enter(cash, d, f_px, p_sl, f_fee, sz, mg)
                if qty != 0.0:
                    acc[A_FEES] += e_fee
                    e_px = f_px
                    e_bar = i
                    fund_acc = 0.0
                    sl = p_sl
                    tp = p_tp
                    tr_dist = p_tr
                    tr_px = np.nan
                    if at_open:
                        extreme = h[i] if d > 0 else lo[i]
                    else:
                        extreme = max(f_px, c[i]) if d > 0 else min(f_px, c[i])
                    held = True
                    intrabar = not at_open
                else:
                    skipped += 1
            else:
                p_age -= 1
                if p_age <= 0:
                    p_dir = 0
        # 3b. funding settled inside the bar: the costly prints now, the others after step 4
        credit = 0.0
        if inside and qty != 0.0:
            cost, credit = inside_rates(funding[1, i], funding[2, i], qty)
            if cost != 0.0:
                cash, fund_acc, fund_tot, liq = pay_funding(
                    qty, oi, cost, e_px, mg, cash, fund_acc, fund_tot
                )
            if intrabar:
                credit = 0.0
        # 4. resting exits inside the bar: adverse first (stop / trail / liquidation), target
        if qty != 0.0:
            if qty > 0:
                adverse = liq
                a_reason = EXIT_LIQUIDATION
                if sl > adverse:  # NaN compares False
                    adverse = sl
                    a_reason = EXIT_STOP
                if tr_px > adverse:
                    adverse = tr_px
                    a_reason = EXIT_TRAIL
                hit = lo[i] <= adverse
                gap = oi < adverse
                hit_tp = (not intrabar) and h[i] >= tp
                tp_gap = oi > tp
            else:
                adverse = liq
                a_reason = EXIT_LIQUIDATION
                if sl < adverse:
                    adverse = sl
                    a_reason = EXIT_STOP
                if tr_px < adverse:
                    adverse = tr_px
                    a_reason = EXIT_TRAIL
                hit = h[i] >= adverse
                gap = oi > adverse
                hit_tp = (not intrabar) and lo[i] <= tp
                tp_gap = oi < tp
            if hit:
                x_px = oi if (gap and not intrabar) else adverse
                cash += exit_taker(trades, acc, e_bar, i, qty, e_px, x_px, slip, slip_abs[i],
                                   e_fee, taker, fund_acc, a_reason)  # fmt: skip
                qty = 0.0
            elif hit_tp:
                x_px = oi if tp_gap else tp
                cash += _book(trades, acc, e_bar, i, qty, e_px, x_px, e_fee, maker, fund_acc,
                              EXIT_TARGET)  # fmt: skip
                qty = 0.0
        # 3b (end). held from the open through the close: the paying inside prints too
        if credit != 0.0 and qty != 0.0:
            cash, fund_acc, fund_tot, liq = pay_funding(
                qty, oi, credit, e_px, mg, cash, fund_acc, fund_tot
            )
        # end of data: close what is still open at the last close
        if i == n - 1 and qty != 0.0 and cfg[C_END] > 0.0:
            cash += exit_taker(trades, acc, e_bar, i, qty, e_px, c[i], slip, slip_abs[i], e_fee,
                               taker, fund_acc, EXIT_END)  # fmt: skip
            qty = 0.0
        if held:
            exposure += 1
        # 5. mark to market
        eq = cash + qty * (c[i] - e_px) if qty != 0.0 else cash
        if record:
            rec[R_EQUITY, i] = eq
            rec[R_CASH, i] = cash
            rec[R_POSITION, i] = qty
        # returns are summed in blocks: a tight loop of divisions pipelines, one per bar
        # inside this branchy loop does not (it cost ~3x the whole kernel)
        nb += 1
        buf[nb] = eq
        if nb == RET_BLOCK:
            _sum_returns(buf, nb, mom)
            buf[0] = eq
            nb = 0
        prev_eq = eq
        peak, dd_floor, max_dd, dd_bars, max_dd_bars = drawdown(
            eq, peak, dd_floor, max_dd, dd_bars, max_dd_bars
        )
        # 6. ratchet the trailing stop with this bar's extreme
        if qty != 0.0 and tr_dist > 0.0:
            if qty > 0:
                if e_bar != i:
                    extreme = max(extreme, h[i])
                lvl = extreme - tr_dist
                if not (lvl <= tr_px):
                    tr_px = lvl
            else:
                if e_bar != i:
                    extreme = min(extreme, lo[i])
                lvl = extreme + tr_dist
                if not (lvl >= tr_px):
                    tr_px = lvl
        # 7. this bar's signals become orders for the next bar
        e = entry[i]
        if qty != 0.0:
            if qty > 0:
                if exit_long[i] or e < 0:
                    p_exit = True
            elif exit_short[i] or e > 0:
                p_exit = True
            if e != 0 and p_exit:
                p_dir = int(e)
        elif e != 0:
            p_dir = int(e)
        if e != 0 and p_dir == e:
            p_kind = int(entry_kind[i])
            p_price = entry_price[i]
            p_sl = stop[i]
            p_tp = target[i]
            p_tr = trail[i]
            p_age = ttl
        i += 1

    _sum_returns(buf, nb, mom)
    stats[S_EQUITY] = prev_eq
    stats[S_TRADES] = acc[A_TRADES]
    stats[S_WINS] = acc[A_WINS]
    stats[S_GROSS_WIN] = acc[A_GWIN]
    stats[S_GROSS_LOSS] = acc[A_GLOSS]
    stats[S_MAX_DD] = max_dd
    stats[S_DD_BARS] = max_dd_bars
    stats[S_SUM_R] = mom[0]
    stats[S_SUM_R2] = mom[1]
    stats[S_SUM_DOWN2] = mom[2]
    stats[S_EXPOSURE] = exposure
    stats[S_FEES] = acc[A_FEES]
    stats[S_FUNDING] = fund_tot
    stats[S_LIQUIDATIONS] = acc[A_LIQS]
    stats[S_SKIPPED] = skipped
    return int(acc[A_TRADES])


@njit(cache=True)
def _row(v: Any, rows: int) -> Any:
    """Row of a (rows, n) input for variant v: a single row is shared by every variant."""
    return 0 if rows == 1 else v


@njit(cache=True, parallel=True)
def simulate_batch(
    o: np.ndarray,
    h: np.ndarray,
    lo: np.ndarray,
    c: np.ndarray,
    funding: np.ndarray,
    slip_abs: np.ndarray,
    entry: np.ndarray,
    entry_kind: np.ndarray,
    entry_price: np.ndarray,
    stop: np.ndarray,
    target: np.ndarray,
    trail: np.ndarray,
    exit_long: np.ndarray,
    exit_short: np.ndarray,
    cfg: np.ndarray,
    stats: np.ndarray,
) -> None:
    """Run V variants in parallel, summaries only (no curves, no trade rows).

    Signal arrays are 2-D (rows, n); a 1-row array is shared by every variant, so a grid that
    varies only the entries does not copy the stop/target arrays. `cfg` is (V, N_CFG) or
    (1, N_CFG); `stats` is (V, N_STATS)."""
    v_count = stats.shape[0]
    no_trades = np.empty((0, N_TRADE_COLS))
    no_rec = np.empty((N_REC, 0))
    for j in prange(v_count):
        v = np.int64(j)
        simulate(
            o, h, lo, c, funding, slip_abs,
            entry[_row(v, entry.shape[0])],
            entry_kind[_row(v, entry_kind.shape[0])],
            entry_price[_row(v, entry_price.shape[0])],
            stop[_row(v, stop.shape[0])],
            target[_row(v, target.shape[0])],
            trail[_row(v, trail.shape[0])],
            exit_long[_row(v, exit_long.shape[0])],
            exit_short[_row(v, exit_short.shape[0])],
            cfg[_row(v, cfg.shape[0])],
            stats[v],
            no_trades,
            no_rec,
        )  # fmt: skip
