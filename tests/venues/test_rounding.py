"""The one rounding function (F23): valid by the venue's rules, closest, and closes never grow."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hyperliquid.utils.signing import float_to_wire
from hypothesis import given
from hypothesis import strategies as st

from actors.venues.rounding import price_quantum, round_close, round_price, round_size
from actors.venues.simulator.numbers import price_rule_violation, size_valid

prices = st.floats(min_value=1e-5, max_value=5e6, allow_nan=False, allow_infinity=False)
sz_decimals = st.integers(min_value=0, max_value=5)


@given(prices, sz_decimals, st.sampled_from(["nearest", "down", "up"]))
def test_rounded_prices_obey_the_venue_rule_and_the_sdk_wire(
    px: float, szd: int, direction: str
) -> None:
    try:
        out = round_price(px, szd, direction)  # type: ignore[arg-type]
    except ValueError:
        assert px < 10.0 ** -(6 - szd)  # only dust below the smallest step rounds to zero
        return
    assert price_rule_violation(Decimal(repr(out)), szd) is None
    float_to_wire(out)  # raises if the SDK would refuse it
    q = float(price_quantum(px, szd))
    assert abs(out - px) <= q * 1.000001
    if direction == "down":
        assert out <= px
    if direction == "up":
        assert out >= px


@pytest.mark.parametrize(
    ("px", "szd", "want"),
    [
        (1234.56, 0, 1234.6),  # 5 significant figures
        (123456.7, 0, 123457.0),  # integers are always valid
        (0.0012345, 0, 0.001234),  # 6 - szDecimals decimals (banker's rounding on the tie)
        (0.0012346, 2, 0.0012),
        (99999.6, 5, 100000.0),
        (2500.0, 4, 2500.0),
    ],
)
def test_known_prices(px: float, szd: int, want: float) -> None:
    assert round_price(px, szd) == want


@given(st.floats(min_value=1e-6, max_value=1e6), sz_decimals)
def test_sizes_sit_on_the_lot_grid(sz: float, szd: int) -> None:
    out = round_size(sz, szd)
    assert size_valid(Decimal(repr(out)), szd)
    assert abs(out - sz) <= 10.0**-szd / 2 * 1.000001


@given(st.floats(min_value=1e-6, max_value=1e4), st.floats(min_value=1e-6, max_value=1e4),
       sz_decimals)  # fmt: skip
def test_closes_round_down_and_never_exceed_the_live_size(
    want: float, live: float, szd: int
) -> None:
    live = round_size(live, szd, "down") or 10.0**-szd  # a live size is on the lot grid
    for signed in (live, -live):
        out = round_close(want, signed, szd)
        assert 0 <= out <= live + 1e-12 and out <= want + 1e-12
        assert size_valid(Decimal(repr(out)), szd)


def test_rejects_nonsense() -> None:
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError):
            round_price(bad, 2)
        with pytest.raises(ValueError):
            round_size(bad, 2)
