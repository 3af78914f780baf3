"""Circuit-breaker rules and the two-step resume (pure; persisted and enforced by the actors)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from strategies.breakers import (
    BREAKERS,
    BreakerError,
    BreakerState,
    Thresholds,
    check_name,
    confirm_resume,
    drawdown_trip,
    exchange_failures_trip,
    find_pending,
    halted,
    initial_states,
    loss_streak_trip,
    request_resume,
    trip,
    volatility_trip,
)

T = Thresholds()


def test_drawdown_counts_open_losses_not_only_closed_trades() -> None:
    """F15: an open position 11 % under water with no closed trade must trip."""
    marked = [10_000.0, 10_200.0, 9_900.0, 9_078.0]  # peak 10,200 -> -11 %
    hit = drawdown_trip(marked, T)
    assert hit is not None and hit.name == "drawdown" and hit.values["drawdown_pct"] > 10.0
    assert drawdown_trip([10_000.0, 10_200.0, 9_200.0], T) is None  # -9.8 %
    assert drawdown_trip([], T) is None


def test_loss_streak_counts_from_the_newest_trade() -> None:
    assert loss_streak_trip([-1, -1, -1, -1, -1], T) is not None
    assert loss_streak_trip([-1, -1, -1, -1, 2, -1], T) is None
    assert loss_streak_trip([3, -1, -1, -1, -1, -1], T) is not None
    assert loss_streak_trip([-1, -1, -1, -1, 0.0], T) is None  # break-even ends a streak


def test_volatility_trips_above_the_multiple_and_fails_closed_without_baseline() -> None:
    assert volatility_trip(3.01, 1.0, T) is not None
    assert volatility_trip(3.0, 1.0, T) is None
    hit = volatility_trip(1.0, 0.0, T)
    assert hit is not None and "fail closed" in hit.reason
    assert volatility_trip(float("nan"), 1.0, T) is not None


def test_exchange_failures_window_edges() -> None:
    t = Thresholds(exchange_failures=3, exchange_window_s=60)
    now = 1_000_000
    assert exchange_failures_trip([now - 60_000, now - 1, now], now, t) is not None  # edge in
    assert exchange_failures_trip([now - 60_001, now - 1, now], now, t) is None  # edge out
    assert exchange_failures_trip([now + 5, now, now], now, t) is None  # future stamps ignored


def test_thresholds_out_of_range_are_named() -> None:
    with pytest.raises(ValidationError, match="drawdown_pct"):
        Thresholds(drawdown_pct=150)
    with pytest.raises(ValidationError, match="atr_multiple"):
        Thresholds(atr_multiple=0.5)
    with pytest.raises(ValidationError, match="no_such"):
        Thresholds(no_such=1)  # type: ignore[call-arg]


def test_two_step_resume() -> None:
    s = trip(BreakerState(name="drawdown"), "dd 12%", {"drawdown_pct": 12.0}, now_ms=5)
    assert s.state == "tripped" and s.since_ms == 5 and halted({"drawdown": s}) == ["drawdown"]
    with pytest.raises(BreakerError, match="wrong code"):
        confirm_resume(s, "ABCDEF", 6)  # no request yet: one step is never enough
    pending = request_resume(s, "K7Q2M9", 7)
    assert pending.state == "resume_pending" and "K7Q2M9" not in pending.model_dump_json()
    with pytest.raises(BreakerError, match="wrong code"):
        confirm_resume(pending, "K7Q2M8", 8)
    armed = confirm_resume(pending, "K7Q2M9", 9)
    assert armed.state == "armed" and not halted({"drawdown": armed})
    again = request_resume(trip(armed, "dd 11%", {}, 10), "NEWCODE", 11)
    with pytest.raises(BreakerError, match="already used"):
        confirm_resume(again, "K7Q2M9", 12)
    with pytest.raises(BreakerError, match="not tripped"):
        request_resume(armed, "ZZZZZZ", 13)


def test_a_new_trip_cancels_a_pending_resume() -> None:
    s = request_resume(trip(BreakerState(name="volatility"), "atr", {}, 1), "CODE123", 2)
    s = trip(s, "atr again", {}, 3)
    assert s.state == "tripped" and s.code_hash is None
    with pytest.raises(BreakerError):
        confirm_resume(s, "CODE123", 4)


def test_find_pending_and_names() -> None:
    states = initial_states()
    assert set(BREAKERS) <= set(states) and "kill" in states and not halted(states)
    states["loss_streak"] = request_resume(trip(states["loss_streak"], "x", {}, 1), "ABC123", 2)
    assert find_pending(states, "ABC123").name == "loss_streak"
    with pytest.raises(BreakerError, match="no breaker"):
        find_pending(states, "XYZ999")
    with pytest.raises(BreakerError, match="unknown breaker"):
        check_name("drawdwn")


@given(st.lists(st.floats(min_value=1.0, max_value=1e6), min_size=1, max_size=60))
def test_drawdown_trip_matches_an_independent_definition(equity: list[float]) -> None:
    dd = (max(equity) - equity[-1]) / max(equity) * 100.0
    assert (drawdown_trip(equity, T) is not None) == (dd > T.drawdown_pct)
