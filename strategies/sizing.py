"""Position sizing as pure functions (numba-compiled so the engine calls them per fill).

All return a quantity in base units (>= 0), capped so that notional <= leverage x equity, and
rounded down to the venue's size step (0 = no rounding).
"""

from __future__ import annotations

import math

from numba import njit

RISK = 0
FRACTION = 1
ALL_IN = 2
SIZING_MODES = {"risk": RISK, "fraction": FRACTION, "all_in": ALL_IN}


@njit(cache=True)
def round_to_step(qty: float, step: float) -> float:
    """Round a quantity down to the size step (a venue's lot size); step <= 0 leaves it."""
    if step <= 0.0:
        return qty
    # the small epsilon keeps 3 * 0.1 from rounding down to 0.2
    return math.floor(qty / step + 1e-9) * step


@njit(cache=True)
def risk_size(equity: float, price: float, stop: float, risk_fraction: float) -> float:
    """Lose `risk_fraction` of equity if the stop fills exactly: qty = risk / |price - stop|."""
    dist = abs(price - stop)
    if equity <= 0.0 or dist <= 0.0 or math.isnan(dist):
        return 0.0
    return equity * risk_fraction / dist


@njit(cache=True)
def fraction_size(equity: float, price: float, fraction: float) -> float:
    """Notional = fraction x equity (fraction > 1 means leverage)."""
    if equity <= 0.0 or price <= 0.0:
        return 0.0
    return equity * fraction / price


@njit(cache=True)
def position_size(
    mode: int,
    equity: float,
    price: float,
    stop: float,
    risk_fraction: float,
    fraction: float,
    leverage: float,
    step: float,
) -> float:
    """Dispatch on the sizing mode, cap at `leverage` x equity, round to the size step."""
    if mode == RISK:
        qty = risk_size(equity, price, stop, risk_fraction)
    elif mode == FRACTION:
        qty = fraction_size(equity, price, fraction)
    else:
        qty = fraction_size(equity, price, leverage)
    cap = fraction_size(equity, price, leverage)
    if qty > cap:
        qty = cap
    return round_to_step(qty, step)
