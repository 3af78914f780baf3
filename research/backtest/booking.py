"""The engine's booking primitives, shared by every kernel (engine.simulate, the fused
sma_cross grid): how a fill, an exit, a funding print and a bar's mark change the account.

Why one module: the kernels differ only in WHEN things happen (which orders exist, which
shortcuts skip quiet bars); WHAT a fill or a print does to cash, fees, funding, the trade
record and the drawdown/return accumulators is written once here, so the kernels cannot drift
apart (test_sma_grid proves them bit-identical). The helpers are numba `inline="always"`.

Performance rule (measured, tests/bench/bench_backtest.py --ref): a helper called on EVERY bar
takes and returns scalars only (`drawdown`). Passing an array to a numba function, inlined or
not, costs NRT reference counting per call; a per-bar `mark(eq, buf, mom, ...)` made the
kernels 2-4x slower. So the per-bar return buffer push stays in each loop (three lines) and
the configuration reaches the event helpers (`enter`, `pay_funding`) as tuples of scalars
(margin_of, sizing_of), which are passed by value.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from strategies.sizing import position_size, round_to_step

# config vector layout (float64)
C_CASH, C_TAKER, C_MAKER, C_SLIP, C_MODE, C_RISK, C_FRAC, C_LEV, C_STEP, C_MM, C_TTL, C_END = range(
    12
)
# margin tiers (research/backtest/margin.py): count, then per tier its notional lower bound,
# maintenance rate, maintenance deduction and max leverage; tier 0's rate is also C_MM
C_NT = 12
MAX_TIERS = 6
C_TB = 13
C_TR = C_TB + MAX_TIERS
C_TD = C_TR + MAX_TIERS
C_TL = C_TD + MAX_TIERS
N_CFG = C_TL + MAX_TIERS

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

# accumulator slots of one variant (a float64 array of N_ACC)
A_TRADES, A_WINS, A_GWIN, A_GLOSS, A_FEES, A_LIQS = range(6)
N_ACC = 6

RET_BLOCK = 256  # equity values buffered before their returns are summed


@njit(cache=True)
def _slipped(px: float, direction: float, frac: float, absolute: float) -> float:
    """Move a fill price against the trader: buys higher, sells lower."""
    return px * (1.0 + direction * frac) + direction * absolute


@njit(cache=True)
def _book(
    trades: np.ndarray,
    acc: np.ndarray,
    entry_bar: int,
    exit_bar: int,
    qty: float,
    entry_px: float,
    exit_px: float,
    entry_fee: float,
    fee_rate: float,
    funding: float,
    reason: int,
) -> float:
    """Close the position: write the trade row (if there is room), tally, return the cash delta."""
    q = abs(qty)
    side = 1.0 if qty > 0 else -1.0
    fee = q * exit_px * fee_rate
    gross = side * q * (exit_px - entry_px)
    pnl = gross - entry_fee - fee + funding
    k = int(acc[A_TRADES])
    if k < trades.shape[0]:
        trades[k, T_ENTRY_BAR] = entry_bar
        trades[k, T_EXIT_BAR] = exit_bar
        trades[k, T_SIDE] = side
        trades[k, T_SIZE] = q
        trades[k, T_ENTRY_PX] = entry_px
        trades[k, T_EXIT_PX] = exit_px
        trades[k, T_FEES] = entry_fee + fee
        trades[k, T_FUNDING] = funding
        trades[k, T_PNL] = pnl
        trades[k, T_REASON] = reason
    acc[A_TRADES] += 1
    if pnl > 0:
        acc[A_WINS] += 1
        acc[A_GWIN] += pnl
    else:
        acc[A_GLOSS] -= pnl
    acc[A_FEES] += fee
    if reason == EXIT_LIQUIDATION:
        acc[A_LIQS] += 1
    return gross - fee


@njit(cache=True, fastmath={"reassoc", "contract", "nsz"})
def _sum_returns(buf: np.ndarray, m: int, mom: np.ndarray) -> None:
    """Add the simple returns buf[j+1]/buf[j] - 1 (j < m) to the moment sums."""
    s1 = 0.0
    s2 = 0.0
    sd2 = 0.0
    for j in range(m):
        prev = buf[j]
        r = buf[j + 1] / prev - 1.0 if prev > 0.0 else 0.0
        s1 += r
        s2 += r * r
        dn = min(r, 0.0)
        sd2 += dn * dn
    mom[0] += s1
    mom[1] += s2
    mom[2] += sd2


@njit(inline="always")
def margin_of(cfg: np.ndarray) -> tuple[float, ...]:
    """The liquidation inputs as a tuple of scalars, built once per run: (mm, tiers,
    r_1, d_1, ..., r_5, d_5). Why a tuple: it is passed by value, where an array argument costs
    NRT reference counting on every call (a funding print on every held 4h bar)."""
    return (
        cfg[C_MM], cfg[C_NT], cfg[C_TR + 1], cfg[C_TD + 1], cfg[C_TR + 2], cfg[C_TD + 2],
        cfg[C_TR + 3], cfg[C_TD + 3], cfg[C_TR + 4], cfg[C_TD + 4], cfg[C_TR + 5], cfg[C_TD + 5],
    )  # fmt: skip


@njit(inline="always")
def sizing_of(cfg: np.ndarray) -> tuple[float, ...]:
    """The sizing inputs as a tuple of scalars, built once per run: (mode, risk, fraction,
    leverage, step, tiers, L_0, b_1, L_1, ..., b_5, L_5) (L = max leverage, b = lower bound)."""
    return (
        cfg[C_MODE], cfg[C_RISK], cfg[C_FRAC], cfg[C_LEV], cfg[C_STEP], cfg[C_NT], cfg[C_TL],
        cfg[C_TB + 1], cfg[C_TL + 1], cfg[C_TB + 2], cfg[C_TL + 2], cfg[C_TB + 3], cfg[C_TL + 3],
        cfg[C_TB + 4], cfg[C_TL + 4], cfg[C_TB + 5], cfg[C_TL + 5],
    )  # fmt: skip


assert MAX_TIERS == 6, "margin_of / sizing_of list the tier slots one by one"


@njit(cache=True)
def _liquidation_price(qty: float, entry_px: float, cash: float, mg: tuple[float, ...]) -> float:
    """Price at which equity = maintenance margin (cash already net of fees and funding).

    Maintenance margin is max over tiers n of (notional x r_n - d_n) (margin.py), so equity
    minus it is the minimum of one line per tier: a long is liquidated at the highest of the
    per-tier prices, a short at the lowest. One tier: (q e - cash) / (q (1 - mm)) for a long.
    `mg` is margin_of(cfg)."""
    q = abs(qty)
    mm = mg[0]
    nt = int(mg[1])
    if qty > 0:
        px = (q * entry_px - cash) / (q * (1.0 - mm))
        for t in range(1, nt):
            p_t = (q * entry_px - cash - mg[2 * t + 1]) / (q * (1.0 - mg[2 * t]))
            if p_t > px:
                px = p_t
        return px
    px = (cash + q * entry_px) / (q * (1.0 + mm))
    for t in range(1, nt):
        p_t = (cash + q * entry_px + mg[2 * t + 1]) / (q * (1.0 + mg[2 * t]))
        if p_t < px:
            px = p_t
    return px


@njit(cache=True)
def max_notional(equity: float, sz: tuple[float, ...]) -> float:
    """The largest notional the margin tiers let `equity` open at the configured leverage:
    a notional in tier n needs leverage <= that tier's max (a bound belongs to the tier it
    starts). `sz` is sizing_of(cfg)."""
    lev = sz[3]
    nt = int(sz[5])
    best = 0.0
    for t in range(nt):
        cap = equity * min(lev, sz[6 + 2 * t])
        if t + 1 < nt and cap >= sz[7 + 2 * t]:
            cap = sz[7 + 2 * t] * (1.0 - 2.0**-52)  # just below the next tier's bound
        lower = 0.0 if t == 0 else sz[5 + 2 * t]
        if cap >= lower and cap > best:
            best = cap
    return best


@njit(inline="always")
def enter(
    cash: float,
    direction: float,
    px: float,
    stop: float,
    fee_rate: float,
    sz: tuple[float, ...],
    mg: tuple[float, ...],
) -> tuple[float, float, float, float]:
    """Size an entry filled at `px` and pay its fee: (signed qty, entry fee, cash, liquidation
    price); the caller adds the fee to its fee tally.

    The size is capped by the margin tiers (max_notional) when there are several. qty is 0
    (nothing booked) when the sizing gives nothing (no equity, stop at the price)."""
    q = position_size(int(sz[0]), cash, px, stop, sz[1], sz[2], sz[3], sz[4])
    if sz[5] > 1.0 and q * px > 0.0:
        cap = max_notional(cash, sz)
        if q * px > cap:
            q = round_to_step(cap / px, sz[4])
    if not q > 0.0:
        return 0.0, 0.0, cash, 0.0
    qty = direction * q
    fee = q * px * fee_rate
    cash -= fee
    return qty, fee, cash, _liquidation_price(qty, px, cash, mg)


@njit(inline="always")
def exit_taker(
    trades: np.ndarray,
    acc: np.ndarray,
    entry_bar: int,
    bar: int,
    qty: float,
    entry_px: float,
    px: float,
    slip: float,
    slip_abs: float,
    entry_fee: float,
    fee_rate: float,
    funding: float,
    reason: int,
) -> float:
    """Close at `px` moved against the trader by slippage (market, stop, liquidation, end of
    data); return the cash delta. A maker exit (take-profit) books via _book unslipped."""
    side = 1.0 if qty > 0 else -1.0
    x_px = _slipped(px, -side, slip, slip_abs)
    return _book(trades, acc, entry_bar, bar, qty, entry_px, x_px, entry_fee, fee_rate, funding,
                 reason)  # fmt: skip


@njit(inline="always")
def pay_funding(
    qty: float,
    px: float,
    rate: float,
    entry_px: float,
    mg: tuple[float, ...],
    cash: float,
    fund_acc: float,
    fund_tot: float,
) -> tuple[float, float, float, float]:
    """A print of `rate` on signed `qty` at `px`: payment = -qty x px x rate (longs pay a
    positive rate). Returns (cash, trade's funding, total funding, liquidation price)."""
    pay = -qty * px * rate
    cash += pay
    return cash, fund_acc + pay, fund_tot + pay, _liquidation_price(qty, entry_px, cash, mg)


@njit(inline="always")
def inside_rates(up: float, down: float, qty: float) -> tuple[float, float]:
    """(costly, paying) sums of the prints settled strictly inside a bar for this side, from
    the bar's positive (`up`) and negative (`down`) sums: a long pays the positive ones, a
    short the negative ones (funding.py explains when each is due)."""
    if qty > 0:
        return up, down
    return down, up


@njit(inline="always")
def drawdown(
    eq: float,
    peak: float,
    dd_floor: float,
    max_dd: float,
    dd_bars: int,
    max_dd_bars: int,
) -> tuple[float, float, float, int, int]:
    """Book one bar's closing equity into the drawdown accumulators: (peak, dd_floor,
    max_dd, bars under water, longest time under water). dd_floor is peak x (1 - max_dd):
    equity below it is a new maximum drawdown.

    Scalars only, on purpose: a helper that takes arrays costs NRT reference counting on
    every call, which in a per-bar loop made the kernels 2-4x slower (measured)."""
    if eq >= peak:
        peak = eq
        dd_floor = peak * (1.0 - max_dd)
        dd_bars = 0
    else:
        dd_bars += 1
        if dd_bars > max_dd_bars:
            max_dd_bars = dd_bars
        if eq < dd_floor and peak > 0.0:
            max_dd = 1.0 - eq / peak
            dd_floor = eq
    return peak, dd_floor, max_dd, dd_bars, max_dd_bars


@njit(inline="always")
def drawdown_flat(
    cash: float,
    count: int,
    peak: float,
    dd_floor: float,
    max_dd: float,
    dd_bars: int,
    max_dd_bars: int,
) -> tuple[float, float, float, int, int]:
    """`count` flat bars at equity `cash` in one step: the same result as `count` calls of
    drawdown (the returns of those bars are buffered by the caller)."""
    if cash >= peak:
        peak = cash
        dd_floor = peak * (1.0 - max_dd)
        dd_bars = 0
    else:
        if cash < dd_floor and peak > 0.0:
            max_dd = 1.0 - cash / peak
            dd_floor = cash
        dd_bars += count
        if dd_bars > max_dd_bars:
            max_dd_bars = dd_bars
    return peak, dd_floor, max_dd, dd_bars, max_dd_bars
