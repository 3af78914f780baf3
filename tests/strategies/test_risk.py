"""Pure portfolio risk rules: each rule decides and names itself; sizing on current equity."""

from __future__ import annotations

import pytest

from strategies import risk
from strategies.risk import Limits, PortfolioState, Proposal

LONG = Proposal(symbol="BTC", side="buy", price=100.0, stop=98.0, target=104.0)
CLEAN = PortfolioState(equity=10_000.0, reconciled=True)


def test_approves_and_sizes_on_current_equity() -> None:
    d = risk.evaluate(LONG, CLEAN, Limits(risk_fraction=0.01, max_leverage=100))
    assert d.approved and d.rule == "approved"
    assert d.size == pytest.approx(10_000 * 0.01 / 2.0)
    # half the equity -> half the size
    half = risk.evaluate(
        LONG, PortfolioState(equity=5_000.0, reconciled=True), Limits(max_leverage=100)
    )
    assert half.size == pytest.approx(d.size / 2)


def test_leverage_caps_the_notional() -> None:
    d = risk.evaluate(LONG, CLEAN, Limits(risk_fraction=0.05, max_leverage=1.0))
    assert d.size * LONG.price == pytest.approx(10_000.0)


@pytest.mark.parametrize(
    ("state", "proposal", "rule"),
    [
        (PortfolioState(equity=1e4), LONG, "reconciliation_pending"),
        (PortfolioState(equity=1e4, reconciled=True, halted="drawdown"), LONG, "halted"),
        (PortfolioState(equity=0.0, reconciled=True), LONG, "no_equity"),
        (CLEAN, Proposal("BTC", "buy", 100.0, 101.0), "invalid_stop"),
        (CLEAN, Proposal("BTC", "sell", 100.0, 99.0), "invalid_stop"),
        (CLEAN, Proposal("BTC", "buy", 100.0, float("nan")), "invalid_stop"),
        (PortfolioState(equity=1e4, reconciled=True, blocked=frozenset({"BTC"})), LONG,
         "symbol_blocked"),
        (PortfolioState(equity=1e4, reconciled=True, positions={"BTC": -0.1}), LONG,
         "position_open"),
        (PortfolioState(equity=1e4, reconciled=True, pending=frozenset({"BTC"})), LONG,
         "entry_in_flight"),
        (PortfolioState(equity=1e4, reconciled=True, positions={"ETH": 1.0, "SOL": 2.0},
                        pending=frozenset({"XRP"})), LONG, "max_open_positions"),
    ],
)  # fmt: skip
def test_each_rule_rejects_and_names_itself(
    state: PortfolioState, proposal: Proposal, rule: str
) -> None:
    d = risk.evaluate(proposal, state, Limits(max_open_positions=3))
    assert not d.approved
    assert d.rule == rule
    assert d.size == 0.0


def test_max_open_positions_counts_positions_and_entries_in_flight() -> None:
    two = PortfolioState(equity=1e4, reconciled=True, positions={"ETH": 1.0, "SOL": 0.0},
                         pending=frozenset({"XRP"}))  # fmt: skip
    assert risk.evaluate(LONG, two, Limits(max_open_positions=3)).approved  # SOL is flat
    assert risk.evaluate(LONG, two, Limits(max_open_positions=2)).rule == "max_open_positions"


def test_zero_size_is_rejected() -> None:
    d = risk.evaluate(LONG, CLEAN, Limits(size_step=1000.0))  # rounds down to nothing
    assert (d.approved, d.rule) == (False, "size_zero")


def test_extra_rules_slot_in() -> None:
    def no_btc(p: Proposal, s: PortfolioState, lim: Limits) -> risk.Decision | None:
        return risk.reject("no_btc", "test rule") if p.symbol == "BTC" else None

    d = risk.evaluate(LONG, CLEAN, Limits(), rules=(*risk.DEFAULT_RULES, no_btc))
    assert (d.approved, d.rule) == (False, "no_btc")
