"""Which pending alerts go out now: the hourly budget, CRITICAL first, digests for the rest.

Why a pure function of (pending, recent sends, now): the rules are where alerting goes wrong
(freqtrade's one-retry Telegram sender, floods that get a chat rate-limited — failure_modes F20),
so they are decided here without I/O or a clock and tested exhaustively; the dispatcher only
carries the plan out.

Rules:

* At most ``per_hour`` messages in any sliding hour, at most one per ``min_interval_ms``.
* CRITICAL alerts are never coalesced and never dropped: they go first, oldest first, and when
  the hour's budget is spent they wait in the queue until a slot frees.
* Non-critical alerts may use at most ``per_hour - critical_reserve`` slots, so a CRITICAL that
  arrives after a burst still goes out at once. When more non-critical alerts wait than their
  remaining slots, they all go out as **one digest** (counts per kind, then the newest lines).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

HOUR_MS = 3_600_000
TELEGRAM_MAX_CHARS = 4096
LEVEL_RANK = {"INFO": 0, "WARNING": 1, "CRITICAL": 2}


@dataclass(frozen=True)
class Pending:
    """An alert waiting in the outbox."""

    id: int
    level: str
    kind: str
    text: str
    created_ms: int


@dataclass(frozen=True)
class Budget:
    per_hour: int = 10
    critical_reserve: int = 2
    min_interval_ms: int = 1_000

    def __post_init__(self) -> None:
        if self.per_hour < 1:
            raise ValueError(f"alert budget per hour must be >= 1, got {self.per_hour}")
        if not 0 <= self.critical_reserve < self.per_hour:
            raise ValueError(
                f"critical_reserve must be in [0, per_hour), got {self.critical_reserve}"
            )
        if self.min_interval_ms < 0:
            raise ValueError(f"min_interval_ms must be >= 0, got {self.min_interval_ms}")


@dataclass(frozen=True)
class Send:
    """One Telegram message to send; ``ids`` are the outbox rows it delivers."""

    ids: tuple[int, ...]
    text: str
    critical: bool


@dataclass(frozen=True)
class Plan:
    """The next message to send now (or None) and when to ask again (epoch ms, or None)."""

    send: Send | None
    wake_ms: int | None


def _slots(sent_ms: Sequence[int], now_ms: int, budget: Budget) -> tuple[int, int | None]:
    """Free slots in the sliding hour, and when the oldest send in it leaves the window."""
    recent = sorted(t for t in sent_ms if now_ms - t < HOUR_MS)
    free = budget.per_hour - len(recent)
    return free, (recent[0] + HOUR_MS if recent else None)


def _noncritical_slots(
    sent_ms: Sequence[int], critical_sent_ms: Sequence[int], now_ms: int, budget: Budget
) -> int:
    """Slots non-critical messages may still use this hour (the reserve stays for CRITICAL)."""
    recent = [t for t in sent_ms if now_ms - t < HOUR_MS]
    recent_critical = [t for t in critical_sent_ms if now_ms - t < HOUR_MS]
    used = len(recent) - len(recent_critical)
    return budget.per_hour - budget.critical_reserve - used


def digest(items: Sequence[Pending]) -> str:
    """One message for many alerts: counts per level and kind, then as many lines as fit."""
    counts = Counter((p.level, p.kind) for p in items)
    head = [f"Digest of {len(items)} alerts (hourly message budget reached):"]
    head += [f"  {n} × {level} {kind}" for (level, kind), n in sorted(counts.items())]
    lines = [f"• {p.text}" for p in items]
    text = "\n".join(head)
    for i, line in enumerate(lines):
        more = len(lines) - i
        if len(text) + len(line) + 40 > TELEGRAM_MAX_CHARS:
            return text + f"\n… and {more} more (see the log)"
        text += "\n" + line
    return text


def plan(
    pending: Sequence[Pending],
    sent_ms: Sequence[int],
    critical_sent_ms: Sequence[int],
    now_ms: int,
    budget: Budget,
    not_before_ms: int = 0,
) -> Plan:
    """Decide the next send. ``sent_ms``: times of all messages sent (critical or not) in the
    last hour or more; ``critical_sent_ms``: those that were CRITICAL; ``not_before_ms``: a
    server-imposed pause (Telegram's ``retry_after``)."""
    if not pending:
        return Plan(None, None)
    last = max(sent_ms, default=None)
    earliest = max(not_before_ms, (last + budget.min_interval_ms) if last is not None else 0)
    if now_ms < earliest:
        return Plan(None, earliest)
    free, frees_at = _slots(sent_ms, now_ms, budget)
    if free <= 0:
        return Plan(None, frees_at)
    ordered = sorted(pending, key=lambda p: (p.created_ms, p.id))
    critical = [p for p in ordered if p.level == "CRITICAL"]
    if critical:
        c = critical[0]
        return Plan(Send((c.id,), c.text, True), now_ms + budget.min_interval_ms)
    others = ordered
    room = _noncritical_slots(sent_ms, critical_sent_ms, now_ms, budget)
    if room <= 0:
        return Plan(None, frees_at)
    if len(others) <= room:
        p = others[0]
        return Plan(Send((p.id,), p.text, False), now_ms + budget.min_interval_ms)
    return Plan(Send(tuple(p.id for p in others), digest(others), False), frees_at)
