"""One rounding function for Hyperliquid prices and sizes (failure_modes F23).

Why one place: the venue rejects a price with more than 5 significant figures or more than
``6 - szDecimals`` decimals (integers are always valid) and a size with more than ``szDecimals``
decimals, and the SDK's ``float_to_wire`` raises before any HTTP call when a float does not sit
on 8 decimals. Rounding happens in exact decimal arithmetic, then converts back to the float the
SDK expects. Closes are rounded **down** and clamped to the live size, so a reduce-only close is
never larger than the position (MetaMask core #9719).
"""

from __future__ import annotations

import math
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_UP, Decimal
from typing import Literal

MAX_PERP_DECIMALS = 6
SIG_FIGS = 5
Direction = Literal["nearest", "down", "up"]
_MODES = {"nearest": ROUND_HALF_EVEN, "down": ROUND_DOWN, "up": ROUND_UP}


def _check(x: float, what: str) -> Decimal:
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{what} must be a positive finite number, got {x!r}")
    return Decimal(repr(float(x)))


def price_quantum(px: float, sz_decimals: int, max_decimals: int = MAX_PERP_DECIMALS) -> Decimal:
    """The coarser of the 5-significant-figure step and the ``max_decimals - szDecimals`` step
    at ``px``; at least 1 (integers are always valid prices)."""
    d = _check(px, "price")
    exp_sig = d.adjusted() - (SIG_FIGS - 1)  # adjusted() = exponent of the leading digit
    exp = max(exp_sig, -(max_decimals - sz_decimals))
    return Decimal(1).scaleb(min(exp, 0))


def round_price(
    px: float, sz_decimals: int, direction: Direction = "nearest", max_decimals: int = 6
) -> float:
    """A price the venue accepts, as close to ``px`` as the rules allow in ``direction``."""
    d = _check(px, "price")
    q = price_quantum(px, sz_decimals, max_decimals)
    out = d.quantize(q, rounding=_MODES[direction])
    if out > 0 and out != out.to_integral_value():
        # rounding up can add a digit (9.99995 -> 10.0000): re-quantise at the new magnitude
        q2 = price_quantum(float(out), sz_decimals, max_decimals)
        out = out.quantize(q2, rounding=_MODES[direction])
    if out <= 0:
        raise ValueError(f"price {px!r} rounds to zero at szDecimals={sz_decimals}")
    return float(out)


def round_size(sz: float, sz_decimals: int, direction: Direction = "nearest") -> float:
    """``sz`` on the lot grid (``szDecimals`` decimals); may return 0.0 for dust."""
    d = _check(sz, "size")
    return float(d.quantize(Decimal(1).scaleb(-sz_decimals), rounding=_MODES[direction]))


def round_close(sz: float, live_size: float, sz_decimals: int) -> float:
    """A reducing size: rounded down and never above the live position ``|live_size|``."""
    live = abs(live_size)
    if live <= 0:
        return round_size(sz, sz_decimals, "down")
    return round_size(min(sz, live), sz_decimals, "down")
