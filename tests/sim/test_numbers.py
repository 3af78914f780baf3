"""Price/size validity rules and decimal formatting (docs/hyperliquid.md §10)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.venues.simulator.numbers import fmt, price_rule_violation, round_px, size_valid


@pytest.mark.parametrize(
    ("px", "szd", "ok"),
    [
        ("1234.5", 2, True),  # documented examples, perp with szDecimals 2 (<= 4 decimals)
        ("1234.56", 2, False),
        ("0.001234", 0, True),
        ("0.0012345", 0, False),
        ("123456", 5, True),  # integers are always valid
        ("12345.6", 0, False),
        ("118000", 5, True),
        ("2500.1", 4, True),
        ("0.12345", 2, False),  # 5 decimals > 6 - 2
    ],
)
def test_price_rule_documented_examples(px: str, szd: int, ok: bool) -> None:
    assert (price_rule_violation(Decimal(px), szd) is None) is ok


def test_price_rule_names_which_rule_broke() -> None:
    assert price_rule_violation(Decimal("0.1234567"), 0) == "decimals"
    assert price_rule_violation(Decimal("12345.6"), 0) == "sigfigs"


@pytest.mark.parametrize(
    ("sz", "szd", "ok"),
    [("0.001", 5, True), ("0.000001", 5, False), ("3", 0, True), ("0.5", 0, False)],
)
def test_size_decimals(sz: str, szd: int, ok: bool) -> None:
    assert size_valid(Decimal(sz), szd) is ok


@given(
    st.floats(min_value=1e-4, max_value=2e6, allow_nan=False), st.integers(min_value=0, max_value=5)
)
def test_sdk_rounding_always_gives_a_valid_price(px: float, szd: int) -> None:
    """The SDK example's rounding must produce prices the venue accepts (F23)."""
    rounded = round_px(px, szd)
    if rounded <= 0:
        return
    assert price_rule_violation(Decimal(fmt(rounded)), szd) is None


def test_fmt_is_venue_style() -> None:
    assert fmt(2500.0) == "2500.0"
    assert fmt(0.0014) == "0.0014"
    assert fmt(-0.5) == "-0.5"
    assert fmt(0.0) == "0.0"
    assert fmt(3.09605e-05, 10) == "0.0000309605"
    with pytest.raises(ValueError, match="non-finite"):
        fmt(float("nan"))
