"""Reduce-only market exits the Executor sends on its own: flattening every position (a breaker
configured to close, the kill switch's ``--flatten``) and the emergency close of a position
whose stop would not rest. Each is journaled before it is sent, like every order."""

from __future__ import annotations

from typing import Any

from actors.messages import Level, OrderIntent, make_cloid
from actors.orders import SOURCE


def exit_intent(ex: Any, symbol: str, pos: float, tag: str, why: str) -> OrderIntent:
    """A reduce-only market order closing ``pos`` of ``symbol`` (fresh cloid)."""
    cloid = make_cloid(tag, symbol, f"{pos}", why, ex._next_seq())
    return OrderIntent(source=SOURCE, seq=ex._next_seq(), intent_id=f"exit:{cloid}", cloid=cloid,
                       signal_id=None, symbol=symbol, side="sell" if pos > 0 else "buy",
                       size=abs(pos), kind="market", reduce_only=True, purpose="exit")  # fmt: skip


def send_exit(ex: Any, intent: OrderIntent) -> None:
    """Persist, then send (under ``ex._lock``)."""
    import ray

    ray.get(ex.keeper.record_intent.remote(intent))
    ex._send(intent)


def emergency_close(ex: Any, symbol: str, pos: float, why: str) -> None:
    ex._event(Level.CRITICAL, "unprotected", f"{symbol}: {why}; closing {pos:g} reduce-only")
    send_exit(ex, exit_intent(ex, symbol, pos, "exit", why))


def flatten(ex: Any, reason: str) -> int:
    """Close every position with a journaled reduce-only market order; the protective legs are
    canceled once a position is flat. Returns the number of positions still open on the venue
    afterwards (0: flat)."""
    with ex._lock:
        ex._refresh_account()
        for symbol, pos in sorted(ex.positions.items()):
            ex._event(Level.CRITICAL, "flatten", f"{symbol}: closing {pos:g} ({reason})")
            send_exit(ex, exit_intent(ex, symbol, pos, "flatten", reason))
        ex._refresh_account()
        ex._push_portfolio()
        return len(ex.positions)
