"""Per-asset max leverage and margin tiers (issue #14 point 4): an asset is refused the
leverage the venue refuses, and liquidated where the venue would liquidate it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from research.backtest import engine as k
from research.backtest.config import BacktestConfig
from research.backtest.costs import CostModel
from research.backtest.margin import (
    HYPERLIQUID_TIERS,
    hyperliquid_tiers,
    maintenance_schedule,
    tiers_from_meta,
)
from tests.backtest.helpers import bars, config, flat, run

RECORDED_META = (
    Path(__file__).resolve().parents[2]
    / "../shared/data/hyperliquid_recorded/nautilus_test_data/http_meta_perp_sample.json"
)


def _mm(notional: float, tiers: tuple[tuple[float, float], ...]) -> float:
    """Maintenance margin straight from the venue's definition, tier by tier."""
    rates, deductions = maintenance_schedule(tiers)
    n = max(i for i, (b, _) in enumerate(tiers) if notional >= b)
    return notional * rates[n] - deductions[n]


def _liq_by_bisection(qty: float, entry: float, cash: float, tiers) -> float:  # type: ignore[no-untyped-def]
    """The price where equity = maintenance margin, found without the engine's algebra."""
    lo, hi = 1e-9, entry * 10
    for _ in range(200):
        mid = (lo + hi) / 2
        gap = cash + qty * (mid - entry) - _mm(abs(qty) * mid, tiers)
        # equity - MM rises with the price for a long, falls for a short
        if (gap > 0) == (qty > 0):
            hi = mid
        else:
            lo = mid
    return (lo + hi) / 2


def test_every_shipped_perp_has_its_own_table_matching_the_recorded_meta() -> None:
    assert sorted(HYPERLIQUID_TIERS) == sorted(
        ["ADA", "AVAX", "BNB", "BTC", "DOGE", "ETH", "HYPE", "LINK", "LTC", "SOL", "SUI", "XRP"]
    )
    meta = json.loads(RECORDED_META.read_text())
    for coin in ("BTC", "ETH"):
        assert tiers_from_meta(meta, coin)[0] == hyperliquid_tiers(coin)[0]
    assert (
        hyperliquid_tiers("DOGEUSDC") == hyperliquid_tiers("DOGE/USDC:USDC") == ((0, 10), (20e6, 5))
    )
    with pytest.raises(ValueError, match="no margin table for 'PEPE'"):
        hyperliquid_tiers("PEPE")


def test_tiers_from_a_meta_reply_with_margin_tables() -> None:
    meta = {
        "universe": [{"name": "BTC", "maxLeverage": 40, "marginTableId": 56},
                     {"name": "ATOM", "maxLeverage": 5, "marginTableId": 5}],
        "marginTables": [[56, {"description": "tiered 40x", "marginTiers": [
            {"lowerBound": "0.0", "maxLeverage": 40},
            {"lowerBound": "150000000.0", "maxLeverage": 20}]}]],
    }  # fmt: skip
    assert tiers_from_meta(meta, "BTC") == ((0.0, 40.0), (150e6, 20.0))
    assert tiers_from_meta(meta, "ATOM") == ((0.0, 5.0),)  # an id under 50 is a flat table
    with pytest.raises(ValueError, match="not in the meta universe"):
        tiers_from_meta(meta, "ETH")


def test_maintenance_is_continuous_across_tiers() -> None:
    tiers = hyperliquid_tiers("BNB")  # 10x to 3M (5 %), 5x above (10 %)
    rates, deductions = maintenance_schedule(tiers)
    assert rates == [0.05, 0.1] and deductions == pytest.approx([0.0, 150_000.0])
    assert _mm(3e6 - 1e-3, tiers) == pytest.approx(_mm(3e6, tiers)) == pytest.approx(150_000)


def test_a_leverage_allowed_for_btc_is_refused_for_doge() -> None:
    BacktestConfig(sizing="fraction", fraction=20, leverage=20, costs=CostModel.for_symbol("BTC"))
    with pytest.raises(ValidationError, match="exceeds the asset's max leverage 10"):
        BacktestConfig(sizing="fraction", fraction=20, leverage=20,
                       costs=CostModel.for_symbol("DOGE"))  # fmt: skip
    with pytest.raises(ValidationError, match="differs from the first margin tier"):
        CostModel(max_leverage=40, margin_tiers=((0.0, 10.0),))


@pytest.mark.parametrize("side", [1, -1])
def test_doge_is_liquidated_where_btc_is_not(side: int) -> None:
    # 10x at 100 on 10,000: qty 1,000, zero fees. Long liquidation (q e - cash) / (q (1 - mm)):
    # DOGE mm 5 % -> 94.737, BTC mm 1.25 % -> 91.139; the bar's low of 93 lies between.
    # Short: (cash + q e) / (q (1 + mm)): DOGE 104.762, BTC 108.642; the high of 107 between.
    adverse = (100, 100, 93, 99) if side > 0 else (100, 107, 100, 101)
    b = bars([flat(100), flat(100), adverse, flat(100)])
    results = {}
    for coin in ("DOGE", "BTC"):
        costs = CostModel.for_symbol(coin, taker_fee=0, maker_fee=0, slippage_bps=0)
        cfg = BacktestConfig(sizing="fraction", fraction=10, leverage=10, costs=costs)
        results[coin] = run(b, cfg, entry={0: side})
    (t,) = results["DOGE"].trades.itertuples()
    mm = 0.05
    want = 90 / (1 - mm) if side > 0 else 110 / (1 + mm)
    assert (t.exit_bar, t.exit_reason) == (2, "liquidation")
    assert t.exit_price == pytest.approx(want)
    assert results["BTC"].metrics["liquidations"] == 0.0
    assert results["BTC"].trades["exit_reason"].iloc[0] == "end_of_data"


@pytest.mark.parametrize("side", [1, -1])
def test_a_large_position_is_sized_and_liquidated_by_the_tiers(side: int) -> None:
    # BNB: 10x up to 3M of notional, 5x above. 1M of cash asking 10x (10M) gets 5M: the
    # largest notional whose tier allows its leverage. Its liquidation price is where equity
    # meets the tiered maintenance margin (bisection on the venue's formula).
    tiers = hyperliquid_tiers("BNB")
    costs = CostModel.for_symbol("BNB", taker_fee=0, maker_fee=0, slippage_bps=0)
    cfg = config(initial_cash=1e6, fraction=10.0, leverage=10.0,
                 **costs.model_dump(exclude={"funding"}))  # fmt: skip
    liq = _liq_by_bisection(side * 50_000, 100.0, 1e6, tiers)
    assert liq == pytest.approx(3.85e6 / 45_000 if side > 0 else 6.15e6 / 55_000)
    through = (100, 100, liq - 1, 99) if side > 0 else (100, liq + 1, 100, 101)
    r = run(bars([flat(100), flat(100), through, flat(100)]), cfg, entry={0: side})
    (t,) = r.trades.itertuples()
    assert t.size == pytest.approx(50_000)
    assert (t.exit_bar, t.exit_reason) == (2, "liquidation")
    assert t.exit_price == pytest.approx(liq, rel=1e-12)
    # one tier at 10x would have let it open 10M and liquidated it elsewhere
    flat_cfg = config(initial_cash=1e6, fraction=10.0, leverage=10.0, max_leverage=10.0)
    r1 = run(bars([flat(100), flat(100), through, flat(100)]), flat_cfg, entry={0: side})
    assert r1.trades["size"].iloc[0] == pytest.approx(100_000)


def test_the_config_vector_carries_the_tiers() -> None:
    v = BacktestConfig(costs=CostModel.for_symbol("BTC")).vector()
    assert v[k.C_NT] == 2 and v[k.C_TB + 1] == 150e6 and v[k.C_TL + 1] == 20
    assert v[k.C_TR] == v[k.C_MM] == 1 / 80 and v[k.C_TD + 1] == pytest.approx(150e6 / 80)
    assert BacktestConfig().vector()[k.C_NT] == 1  # default: one tier at max_leverage (40x)
