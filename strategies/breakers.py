"""Circuit breakers as pure functions of the portfolio's evidence, and their two-step resume.

Why pure: the same trip rules must decide in the live PortfolioRisk actor and in a portfolio
backtest, and the hardest bugs elsewhere are in the rules themselves (freqtrade measures drawdown
on closed trades only and its locks expire by themselves; nautilus does not persist trading
state — failure_modes F14, F15). Nothing here reads a clock, a file or the environment: the
caller passes the time, the evidence and the confirmation code; the StateKeeper persists the
:class:`BreakerState` values this module returns.

A breaker is ``armed`` (trading allowed), ``tripped`` (no new positions) or ``resume_pending``
(an operator asked to resume and got a one-time code). Only :func:`confirm_resume` with that code
re-arms it; a wrong or reused code changes nothing. Nothing ever re-arms a breaker by itself.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

BREAKERS = ("drawdown", "loss_streak", "volatility", "exchange_failures")
MANUAL_ONLY = ("kill",)  # the kill switch trips only by command
ALL_BREAKERS = BREAKERS + MANUAL_ONLY
State = Literal["armed", "tripped", "resume_pending"]


class BreakerError(ValueError):
    """A breaker command that cannot be applied (unknown name, wrong state, wrong code)."""


class Thresholds(BaseModel):
    """When each breaker trips (configurable; out-of-range values are refused by name)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    drawdown_pct: float = Field(default=10.0, gt=0.0, lt=100.0)
    loss_streak: int = Field(default=5, ge=1, le=1000)
    atr_multiple: float = Field(default=3.0, gt=1.0, le=100.0)
    exchange_failures: int = Field(default=3, ge=1, le=1000)
    exchange_window_s: float = Field(default=300.0, gt=0.0, le=86_400.0)
    atr_period: int = Field(default=14, ge=2, le=1000)
    atr_baseline_bars: int = Field(default=500, ge=20, le=100_000)  # median ATR over these bars
    close_positions: bool = False  # on an automatic trip also close every position (reduce-only)


class BreakerState(BaseModel):
    """One breaker's persisted state, with the evidence of its last trip."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    state: State = "armed"
    since_ms: int = 0
    reason: str = ""
    values: dict[str, float] = Field(default_factory=dict)
    code_hash: str | None = None  # sha256 of the pending resume code (never the code itself)
    used_code_hashes: tuple[str, ...] = ()

    @property
    def tripped(self) -> bool:
        return self.state != "armed"


class Trip(BaseModel):
    """A breaker that should trip now, why, and the values that decided it."""

    model_config = ConfigDict(frozen=True)

    name: str
    reason: str
    values: dict[str, float]


def initial_states() -> dict[str, BreakerState]:
    return {n: BreakerState(name=n) for n in ALL_BREAKERS}


def check_name(name: str) -> str:
    if name not in ALL_BREAKERS:
        raise BreakerError(f"unknown breaker {name!r}; known: {', '.join(ALL_BREAKERS)}")
    return name


# --- trip rules -------------------------------------------------------------------------------


def drawdown_trip(equity_marked: Sequence[float], t: Thresholds) -> Trip | None:
    """Drawdown of equity **marked to market** (open positions at mark, fees, funding) from its
    running peak — not of closed trades (F15)."""
    if not equity_marked:
        return None
    peak = max(equity_marked)
    now = equity_marked[-1]
    dd = (peak - now) / peak * 100.0 if peak > 0 else 0.0
    if dd > t.drawdown_pct:
        return Trip(
            name="drawdown",
            reason=f"equity {now:.2f} is {dd:.2f}% below its peak {peak:.2f} "
            f"(limit {t.drawdown_pct}%)",
            values={"drawdown_pct": dd, "peak": peak, "equity": now},
        )
    return None


def loss_streak_trip(closed_pnls: Sequence[float], t: Thresholds) -> Trip | None:
    """``loss_streak`` consecutive losing trades (net of fees), counted from the newest back."""
    streak = 0
    for pnl in reversed(closed_pnls):
        if pnl < 0:
            streak += 1
        else:
            break
    if streak >= t.loss_streak:
        return Trip(
            name="loss_streak",
            reason=f"{streak} consecutive losing trades (limit {t.loss_streak})",
            values={"streak": float(streak), "last_pnl": float(closed_pnls[-1])},
        )
    return None


def loss_streak_since(
    trades: Sequence[tuple[int, float]], after_ms: int, t: Thresholds
) -> Trip | None:
    """:func:`loss_streak_trip` over ``(closed_ms, pnl)`` round trips closed after ``after_ms``
    (the newest trade of the previous trip: a resumed breaker counts a fresh streak). The trip's
    ``after_ms`` value is the newest trade counted, persisted with the breaker's state."""
    fresh = [(ms, pnl) for ms, pnl in trades if ms > after_ms]
    trip = loss_streak_trip([pnl for _, pnl in fresh], t)
    if trip is None:
        return None
    return trip.model_copy(update={"values": {**trip.values, "after_ms": float(fresh[-1][0])}})


def volatility_trip(atr_now: float, atr_baseline: float, t: Thresholds) -> Trip | None:
    """ATR above ``atr_multiple`` × its baseline (e.g. the median ATR of the last 30 days). A
    missing or non-positive baseline cannot prove calm markets: fail closed and trip."""
    if not (atr_baseline > 0 and math.isfinite(atr_baseline)) or not math.isfinite(atr_now):
        return Trip(
            name="volatility",
            reason="no valid ATR baseline: volatility cannot be checked (fail closed)",
            values={"atr": atr_now, "baseline": atr_baseline},
        )
    ratio = atr_now / atr_baseline
    if ratio > t.atr_multiple:
        return Trip(
            name="volatility",
            reason=f"ATR {atr_now:.6g} is {ratio:.2f}x its baseline {atr_baseline:.6g} "
            f"(limit {t.atr_multiple}x)",
            values={"atr": atr_now, "baseline": atr_baseline, "ratio": ratio},
        )
    return None


def exchange_failures_trip(failure_ms: Sequence[int], now_ms: int, t: Thresholds) -> Trip | None:
    """At least ``exchange_failures`` venue failures (5xx, 429, timeouts) within the window."""
    window_ms = t.exchange_window_s * 1000.0
    recent = [f for f in failure_ms if 0 <= now_ms - f <= window_ms]
    if len(recent) >= t.exchange_failures:
        return Trip(
            name="exchange_failures",
            reason=f"{len(recent)} exchange failures within {t.exchange_window_s:.0f} s "
            f"(limit {t.exchange_failures})",
            values={"failures": float(len(recent)), "window_s": t.exchange_window_s},
        )
    return None


# --- state transitions ------------------------------------------------------------------------


def trip(state: BreakerState, reason: str, values: dict[str, float], now_ms: int) -> BreakerState:
    """Trip (or keep tripped, with the first trip's time and evidence): a pending resume request
    is cancelled, because the condition came back."""
    if state.state == "tripped":
        return state
    return state.model_copy(
        update={
            "state": "tripped",
            "since_ms": now_ms,
            "reason": reason,
            "values": dict(values),
            "code_hash": None,
        }
    )


def _hash(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


def request_resume(state: BreakerState, code: str, now_ms: int) -> BreakerState:
    """Step one: a tripped breaker gets a pending one-time code (generated by the caller)."""
    if state.state == "armed":
        raise BreakerError(f"breaker {state.name!r} is not tripped; nothing to resume")
    if len(code.strip()) < 6:
        raise BreakerError("a resume code needs at least 6 characters")
    return state.model_copy(
        update={"state": "resume_pending", "code_hash": _hash(code), "since_ms": now_ms}
    )


def confirm_resume(state: BreakerState, code: str, now_ms: int) -> BreakerState:
    """Step two: the right, unused code re-arms the breaker; anything else raises, unchanged."""
    h = _hash(code)
    if h in state.used_code_hashes:
        raise BreakerError(f"this code was already used for breaker {state.name!r}")
    if state.state != "resume_pending" or state.code_hash != h:
        raise BreakerError(f"wrong code for breaker {state.name!r}")
    return state.model_copy(
        update={
            "state": "armed",
            "since_ms": now_ms,
            "code_hash": None,
            "used_code_hashes": (*state.used_code_hashes, h),
        }
    )


def find_pending(states: dict[str, BreakerState], code: str) -> BreakerState:
    """The breaker whose pending resume matches ``code`` (``fractal breaker confirm CODE``)."""
    h = _hash(code)
    for s in states.values():
        if s.state == "resume_pending" and s.code_hash == h:
            return s
    if any(h in s.used_code_hashes for s in states.values()):
        raise BreakerError("this code was already used")
    raise BreakerError("no breaker is waiting for this code")


def halted(states: dict[str, BreakerState]) -> list[str]:
    """Names of breakers that block new positions (any not armed)."""
    return [n for n, s in states.items() if s.tripped]
