"""Decimal-string formatting and the venue's price/size validity rules (pure functions).

Why: every price, size and USD figure crosses the wire as a decimal string ("2500.0", "0.0014"),
and the price rule (5 significant figures, at most 6 - szDecimals decimals, integers always
valid) decides rejections, so both live in one small tested place.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

MAX_PERP_DECIMALS = 6


def fmt(x: float, places: int = 8) -> str:
    """Venue-style decimal string: no exponent, at least one decimal ("2500.0", "-0.5")."""
    if not math.isfinite(x):
        raise ValueError(f"cannot format non-finite number {x!r}")
    d = Decimal(repr(round(x, places))).normalize()
    if d == 0:
        return "0.0"
    s = f"{d:f}"
    return s if "." in s else s + ".0"


def parse_decimal(raw: object, what: str) -> Decimal:
    """Parse a wire decimal string; a clear ValueError names the field otherwise."""
    if not isinstance(raw, str):
        raise ValueError(f"{what} must be a decimal string, got {type(raw).__name__}")
    try:
        d = Decimal(raw)
    except InvalidOperation:
        raise ValueError(f"{what} is not a decimal: {raw!r}") from None
    if not d.is_finite():
        raise ValueError(f"{what} is not finite: {raw!r}")
    return d


def decimals_of(d: Decimal) -> int:
    """Number of digits after the decimal point of a normalised decimal."""
    exp = d.normalize().as_tuple().exponent
    return max(0, -int(exp))


def sig_figs(d: Decimal) -> int:
    """Significant figures of a decimal (trailing zeros of integers do not count)."""
    digits = d.normalize().as_tuple().digits
    return len(digits)


def price_rule_violation(px: Decimal, sz_decimals: int) -> str | None:
    """Which price rule a perp price breaks: 'decimals', 'sigfigs' or None.

    Integers are always valid; otherwise <= 5 significant figures and <= 6 - szDecimals decimals.
    """
    if px == px.to_integral_value():
        return None
    if decimals_of(px) > MAX_PERP_DECIMALS - sz_decimals:
        return "decimals"
    if sig_figs(px) > 5:
        return "sigfigs"
    return None


def size_valid(sz: Decimal, sz_decimals: int) -> bool:
    """A size may carry at most szDecimals decimals."""
    return decimals_of(sz) <= sz_decimals


def round_px(px: float, sz_decimals: int) -> float:
    """The SDK example's rounding: 5 significant figures, then 6 - szDecimals decimals."""
    if px > 100_000:
        return float(round(px))
    return round(float(f"{px:.5g}"), MAX_PERP_DECIMALS - sz_decimals)


def tick_at(px: float, sz_decimals: int) -> float:
    """Smallest valid price step near `px` (used to lay out the synthetic book)."""
    if px <= 0:
        raise ValueError(f"price must be positive, got {px}")
    exp = math.floor(math.log10(px)) - 4
    if exp >= 0:
        return 1.0  # integers are always valid prices
    return max(10.0**exp, 10.0 ** -(MAX_PERP_DECIMALS - sz_decimals))
