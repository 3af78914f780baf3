"""A restart must not report a view that still holds an entry whose one-bar TTL has ended.

Found by tests/live/test_chaos.py (Executor killed while a limit entry rests): Ray restarted the
Executor after the clock had reached the entry's expiry; the constructor rebuilt the entry from
the journal and the venue, stamped its view "complete as of now" without the expiry check, and
PortfolioRisk (whose view was that new, so it asked for no fresh one) refused the next signal as
``entry_in_flight``. Here the same restart runs in this process on a manual-clock simulator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.executor import Executor
from actors.keeper import StateKeeper
from tests.crash import inproc
from tests.crash.harness import Bench, bench, intent

TTL_MS = 60_000


def _executor(b: Bench, keeper: inproc.LocalActor) -> Executor:
    return Executor(b.spec, keeper, None, poll_s=3600.0, reconcile_s=3600.0, entry_ttl_ms=TTL_MS)


@pytest.mark.parametrize(("down_ms", "expired"), [(TTL_MS, True), (TTL_MS - 1_000, False)])
def test_restart_expires_an_entry_whose_ttl_ended_before_its_first_view(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, down_ms: int, expired: bool
) -> None:
    import ray

    monkeypatch.setattr(ray, "get", inproc._get)  # the actors run in this process
    with bench(tmp_path) as b:
        keeper = inproc.LocalActor(StateKeeper(b.data_dir, snapshot_s=3600.0))
        first = _executor(b, keeper)
        entry = intent(b, "ttl", kind="limit")  # 5 % from the mid: it rests
        first.submit(entry)
        assert "BTC" in first.portfolio().pending
        first.stop()  # this incarnation is gone; the entry rests on the venue
        b.sim.clock.advance(ms=down_ms)  # the restart comes at (or before) the TTL's end
        second = _executor(b, keeper)
        try:
            view = second.portfolio()  # what PortfolioRisk gets, before any poll
            assert view.as_of_ms >= b.sim.clock.now_ms() - 1  # claims to be complete as of now
            on_venue = b.venue.order_by_cloid("BTC", entry.cloid)
            if expired:  # complete as of now means: the expiry was applied
                assert "BTC" not in view.pending, view
                assert on_venue is not None and on_venue.status == "canceled"
                assert inproc._get(keeper.order_status.remote(entry.cloid)) == "canceled"
            else:  # negative control: one second before its TTL the entry still rests
                assert "BTC" in view.pending, view
                assert on_venue is not None and on_venue.status == "open"
        finally:
            second.stop()
            inproc._get(keeper.close.remote())


@pytest.mark.parametrize("kind", ["limit", "market"])
def test_a_partially_filled_limit_entry_still_expires_with_its_ttl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A lookup (after a restart or a lost reply) reports a resting entry with a partial fill as
    ``partially_filled``: the remainder still rests and must be canceled at the TTL's end, not
    left on the book. Negative control: a market (IOC) entry's partial fill has no remainder,
    so nothing is tracked for it."""
    import ray

    from actors.orders import update_from_venue

    monkeypatch.setattr(ray, "get", inproc._get)
    with bench(tmp_path) as b:
        keeper = inproc.LocalActor(StateKeeper(b.data_dir, snapshot_s=3600.0))
        spec = b.spec.model_copy(update={"clock_resync_s": 0.0})  # reads the manual clock
        ex = Executor(spec, keeper, None, poll_s=3600.0, reconcile_s=3600.0, entry_ttl_ms=TTL_MS)
        try:
            entry = intent(b, f"partial-{kind}", kind="limit")  # rests 5 % from the mid
            ex.submit(entry)
            found = b.venue.order_by_cloid("BTC", entry.cloid)
            assert found is not None and found.status == "open"
            # what the lookup returns once half of it has filled: the same order, half remaining
            half = found.model_copy(update={"remaining": found.size / 2})
            seen = entry if kind == "limit" else entry.model_copy(update={"kind": "market"})
            ex.resting.clear()  # as after a restart: the entry known only through the lookup
            with ex._lock:
                ex._on_update(seen, update_from_venue(seen, half, b.sim.clock.now_ms()))
            assert (entry.cloid in ex.resting) is (kind == "limit")
            b.sim.clock.advance(ms=TTL_MS)
            ex._expire_entries()
            on_venue = b.venue.order_by_cloid("BTC", entry.cloid)
            assert on_venue is not None
            assert on_venue.status == ("canceled" if kind == "limit" else "open")
        finally:
            ex.stop()
            inproc._get(keeper.close.remote())
