"""The numba core: one pass over the bars, one symbol, one position at a time.

Timing (signals are computed at bar t's close; nothing of bar t+1 is known then):

1. funding prints settled inside bar i are paid at bar i's open on the position carried into
   the bar, notional at open[i] (longs pay a positive rate, shorts receive it);
2. a pending market exit (exit signal, or an opposite entry) fills at open[i] -/+ slippage;
3. a pending entry fills: market at open[i] + slippage (taker); limit when the bar opens
   through the price (fill at the open) or trades strictly through it (fill at the limit,
   maker, no slippage); stop when the bar opens beyond it (fill at the open, worse) or touches
   it (fill at the stop) + slippage (taker). An unfilled resting entry lives `entry_ttl` bars.
   An entry whose fill price is already beyond its own stop or target is skipped;
4. stop-loss / trailing stop / liquidation / take-profit are resting orders checked on bar i's
   range: when both an adverse level and the target lie inside the bar the adverse one fills
   (conservative); a bar that opens through a stop fills at the open (worse price); after an
   intrabar entry only the adverse levels are checked in that bar;
5. equity is marked at close[i]: cash + qty x (close - entry price);
6. the trailing stop is ratcheted with bar i's extreme (for use from bar i+1);
7. the signals of bar i are read and become pending orders for bar i+1.

Liquidation (Hyperliquid cross margin, one position): the account is liquidated when equity
falls to the maintenance margin `mm_rate x |qty| x price` (mm_rate = 1 / (2 x max leverage));
the fill is at the liquidation price (or the open if the bar gapped through it) with the taker
fee and slippage; whatever equity remains stays with the account.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit, prange

from strategies.sizing import position_size

# config vector layout (float64)
C_CASH, C_TAKER, C_MAKER, C_SLIP, C_MODE, C_RISK, C_FRAC, C_LEV, C_STEP, C_MM, C_TTL, C_END = range(
    12
)
N_CFG = 12

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

# trade record columns (float64 matrix, one row per trade)
(
    T_ENTRY_BAR,
    T_EXIT_BAR,
    T_SIDE,
    T_SIZE,
    T_ENTRY_PX,
    T_EXIT_PX,
    T_FEES,
    T_FUNDING,
    T_PNL,
    T_REASON,
) = range(10)
N_TRADE_COLS = 10

# exit reasons
EXIT_SIGNAL, EXIT_STOP, EXIT_TARGET, EXIT_TRAIL, EXIT_LIQUIDATION, EXIT_END = range(6)
EXIT_REASONS = ("signal", "stop_loss", "take_profit", "trailing_stop", "liquidation", "end_of_data")

# per-bar record rows (record mode only)
R_EQUITY, R_CASH, R_POSITION, R_ENTRY_PX = range(4)


@njit(cache=True)
def _slipped(px: float, direction: float, frac: float, absolute: float) -> float:
    """Move a fill price against the trader: buys higher, sells lower."""
    return px * (1.0 + direction * frac) + direction * absolute


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

    Returns the number of trades (which may exceed `trades.shape[0]`; extra rows are dropped).
    """
    n = o.shape[0]
    record = rec.shape[1] == n
    cap = trades.shape[0]
    cash = cfg[C_CASH]
    taker = cfg[C_TAKER]
    maker = cfg[C_MAKER]
    slip = cfg[C_SLIP]
    mode = int(cfg[C_MODE])
    mm = cfg[C_MM]
    ttl = int(cfg[C_TTL])

    qty = 0.0  # signed position
    e_px = 0.0
    e_bar = 0
    e_fee = 0.0
    fund_acc = 0.0
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

    k = 0
    wins = 0
    gwin = 0.0
    gloss = 0.0
    fees = 0.0
    fund_tot = 0.0
    liqs = 0
    skipped = 0
    exposure = 0
    prev_eq = cash
    peak = cash
    max_dd = 0.0
    dd_bars = 0
    max_dd_bars = 0
    s1 = 0.0
    s2 = 0.0
    sd2 = 0.0

    for i in range(n):
        oi = o[i]
        held = qty != 0.0
        intrabar = False  # True when this bar's entry filled after the open
        # 1. funding on the position carried into the bar
        if held and funding[i] != 0.0:
            pay = -qty * oi * funding[i]
            cash += pay
            fund_acc += pay
            fund_tot += pay
        # 2./3. fills at the open; 4. resting exits inside the bar
        # exit_px / reason are set when the position closes in this bar
        for phase in range(3):
            x_px = np.nan
            x_fee = 0.0
            reason = -1
            if phase == 0:
                if p_exit and qty != 0.0:
                    side = 1.0 if qty > 0 else -1.0
                    x_px = _slipped(oi, -side, slip, slip_abs[i])
                    x_fee = taker
                    reason = EXIT_SIGNAL
                p_exit = False
            elif phase == 1:
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
                        ok = not ((p_sl - f_px) * d >= 0.0 or (p_tp - f_px) * d <= 0.0)
                        equity_now = cash
                        q = 0.0
                        if ok:
                            q = position_size(
                                mode, equity_now, f_px, p_sl, cfg[C_RISK], cfg[C_FRAC],
                                cfg[C_LEV], cfg[C_STEP],
                            )  # fmt: skip
                        if q > 0.0:
                            qty = d * q
                            e_px = f_px
                            e_bar = i
                            e_fee = q * f_px * f_fee
                            cash -= e_fee
                            fees += e_fee
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
                        else:
                            skipped += 1
                        p_dir = 0
                        # intrabar entry: only adverse levels can be checked in this bar
                        intrabar = not at_open
                    else:
                        p_age -= 1
                        if p_age <= 0:
                            p_dir = 0
            else:
                if qty != 0.0:
                    q = abs(qty)
                    side = 1.0 if qty > 0 else -1.0
                    adverse = sl
                    a_reason = EXIT_STOP
                    if not math.isnan(tr_px) and (
                        math.isnan(adverse) or (tr_px - adverse) * side > 0
                    ):
                        adverse = tr_px
                        a_reason = EXIT_TRAIL
                    if side > 0:
                        liq = (q * e_px - cash) / (q * (1.0 - mm))
                    else:
                        liq = (cash + q * e_px) / (q * (1.0 + mm))
                    if math.isnan(adverse) or (liq - adverse) * side >= 0.0:
                        adverse = liq
                        a_reason = EXIT_LIQUIDATION
                    worst = lo[i] if side > 0 else h[i]
                    if (worst - adverse) * side <= 0.0:
                        x_px = adverse
                        if not intrabar and (oi - adverse) * side < 0.0:
                            x_px = oi  # gapped through: the open, a worse price
                        x_px = _slipped(x_px, -side, slip, slip_abs[i])
                        x_fee = taker
                        reason = a_reason
                    elif not intrabar and not math.isnan(tp):
                        best = h[i] if side > 0 else lo[i]
                        if (best - tp) * side >= 0.0:
                            x_px = tp
                            if (oi - tp) * side > 0.0:
                                x_px = oi
                            x_fee = maker
                            reason = EXIT_TARGET
            if reason >= 0:
                q = abs(qty)
                side = 1.0 if qty > 0 else -1.0
                fee = q * x_px * x_fee
                gross = side * q * (x_px - e_px)
                cash += gross - fee
                fees += fee
                pnl = gross - e_fee - fee + fund_acc
                if k < cap:
                    trades[k, T_ENTRY_BAR] = e_bar
                    trades[k, T_EXIT_BAR] = i
                    trades[k, T_SIDE] = side
                    trades[k, T_SIZE] = q
                    trades[k, T_ENTRY_PX] = e_px
                    trades[k, T_EXIT_PX] = x_px
                    trades[k, T_FEES] = e_fee + fee
                    trades[k, T_FUNDING] = fund_acc
                    trades[k, T_PNL] = pnl
                    trades[k, T_REASON] = reason
                k += 1
                if pnl > 0:
                    wins += 1
                    gwin += pnl
                else:
                    gloss -= pnl
                if reason == EXIT_LIQUIDATION:
                    liqs += 1
                qty = 0.0
                fund_acc = 0.0
        # end of data: close what is still open at the last close
        if i == n - 1 and qty != 0.0 and cfg[C_END] > 0.0:
            q = abs(qty)
            side = 1.0 if qty > 0 else -1.0
            x_px = _slipped(c[i], -side, slip, slip_abs[i])
            fee = q * x_px * taker
            gross = side * q * (x_px - e_px)
            cash += gross - fee
            fees += fee
            pnl = gross - e_fee - fee + fund_acc
            if k < cap:
                trades[k, T_ENTRY_BAR] = e_bar
                trades[k, T_EXIT_BAR] = i
                trades[k, T_SIDE] = side
                trades[k, T_SIZE] = q
                trades[k, T_ENTRY_PX] = e_px
                trades[k, T_EXIT_PX] = x_px
                trades[k, T_FEES] = e_fee + fee
                trades[k, T_FUNDING] = fund_acc
                trades[k, T_PNL] = pnl
                trades[k, T_REASON] = EXIT_END
            k += 1
            if pnl > 0:
                wins += 1
                gwin += pnl
            else:
                gloss -= pnl
            qty = 0.0
            fund_acc = 0.0
        if held:
            exposure += 1
        # 5. mark to market
        eq = cash + qty * (c[i] - e_px) if qty != 0.0 else cash
        if record:
            rec[R_EQUITY, i] = eq
            rec[R_CASH, i] = cash
            rec[R_POSITION, i] = qty
            rec[R_ENTRY_PX, i] = e_px if qty != 0.0 else np.nan
        r = eq / prev_eq - 1.0 if prev_eq > 0.0 else 0.0
        s1 += r
        s2 += r * r
        if r < 0.0:
            sd2 += r * r
        prev_eq = eq
        if eq >= peak:
            peak = eq
            dd_bars = 0
        else:
            dd_bars += 1
            if dd_bars > max_dd_bars:
                max_dd_bars = dd_bars
            if peak > 0.0 and 1.0 - eq / peak > max_dd:
                max_dd = 1.0 - eq / peak
        # 6. ratchet the trailing stop with this bar's extreme
        if qty != 0.0:
            if qty > 0:
                extreme = max(extreme, h[i]) if e_bar != i else extreme
            else:
                extreme = min(extreme, lo[i]) if e_bar != i else extreme
            if not math.isnan(tr_dist):
                lvl = extreme - tr_dist if qty > 0 else extreme + tr_dist
                if math.isnan(tr_px) or (qty > 0 and lvl > tr_px) or (qty < 0 and lvl < tr_px):
                    tr_px = lvl
        # 7. this bar's signals become orders for the next bar
        e = entry[i]
        if qty > 0 and (exit_long[i] or e < 0) or qty < 0 and (exit_short[i] or e > 0):
            p_exit = True
        if e != 0 and not (qty != 0.0 and not p_exit):
            p_dir = int(e)
            p_kind = int(entry_kind[i])
            p_price = entry_price[i]
            p_sl = stop[i]
            p_tp = target[i]
            p_tr = trail[i]
            p_age = ttl

    stats[S_EQUITY] = prev_eq
    stats[S_TRADES] = k
    stats[S_WINS] = wins
    stats[S_GROSS_WIN] = gwin
    stats[S_GROSS_LOSS] = gloss
    stats[S_MAX_DD] = max_dd
    stats[S_DD_BARS] = max_dd_bars
    stats[S_SUM_R] = s1
    stats[S_SUM_R2] = s2
    stats[S_SUM_DOWN2] = sd2
    stats[S_EXPOSURE] = exposure
    stats[S_FEES] = fees
    stats[S_FUNDING] = fund_tot
    stats[S_LIQUIDATIONS] = liqs
    stats[S_SKIPPED] = skipped
    return k


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
    no_rec = np.empty((4, 0))
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
