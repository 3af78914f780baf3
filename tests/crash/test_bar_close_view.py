"""The Executor reads the account when a bar closes, so PortfolioRisk's ask for a view as of
that close is answered without a second round of venue calls (issue #15's latency) — and never
with a view older than the close."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from actors.executor import Executor
from actors.keeper import StateKeeper
from tests.crash import inproc
from tests.crash.harness import Bench, bench

CLOSE_AHEAD_MS = 3_600_000  # a replayed close far past the manual clock (a lagging venue clock)


class _Risk:
    """Stands in for PortfolioRisk: keeps the views the Executor pushes."""

    def __init__(self) -> None:
        self.views: list[Any] = []

    def on_portfolio(self, state: Any) -> None:
        self.views.append(state)

    def on_submitted(self, cloid: str, state: Any) -> None:
        self.views.append(state)


class _Counted:
    """The venue client with a count of the calls that read the venue."""

    READS = (
        "now_ms",
        "fills_since",
        "positions",
        "equity",
        "positions_and_equity",
        "open_orders",
        "order_by_cloid",
    )

    def __init__(self, venue: Any) -> None:
        self._venue = venue
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._venue, name)
        if name in self.READS:

            def counted(*a: Any, **kw: Any) -> Any:
                self.calls[name] += 1
                return attr(*a, **kw)

            return counted
        return attr


def _executor(b: Bench, keeper: Any, risk: _Risk) -> tuple[Executor, _Counted]:
    ex = Executor(b.spec, keeper, None, poll_s=3600.0, reconcile_s=3600.0)
    ex.risk = inproc.LocalActor(risk)
    counted = _Counted(ex.venue)
    ex.venue = counted
    return ex, counted


@pytest.fixture
def parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    import ray

    monkeypatch.setattr(ray, "get", inproc._get)  # the actors run in this process
    with bench(tmp_path) as b:
        keeper = inproc.LocalActor(StateKeeper(b.data_dir, snapshot_s=3600.0))
        risk = _Risk()
        ex, counted = _executor(b, keeper, risk)
        try:
            yield b, ex, counted, risk
        finally:
            ex.stop()
            inproc._get(keeper.close.remote())


def test_a_bar_close_read_serves_the_view_asked_for_that_close(parts: Any) -> None:
    b, ex, counted, risk = parts
    close = b.sim.clock.now_ms() + CLOSE_AHEAD_MS
    ex.bar_closed(close)
    assert counted.calls["positions_and_equity"] == 1 and counted.calls["fills_since"] == 1
    pushed = _wait_views(risk, 1)[-1]
    assert pushed.as_of_ms >= close  # read after the close was published
    counted.calls.clear()
    view = ex.fresh_view(close)  # PortfolioRisk's ask for that close: no venue call
    assert view.as_of_ms >= close and sum(counted.calls.values()) == 0
    ex.bar_closed(close)  # announced twice (a restarted feed): nothing read again
    assert sum(counted.calls.values()) == 0


def test_a_view_older_than_the_close_is_read_again(parts: Any) -> None:
    """Negative control: without a read for the close, the ask polls the venue."""
    b, ex, counted, _ = parts
    counted.calls.clear()
    view = ex.fresh_view(b.sim.clock.now_ms() + CLOSE_AHEAD_MS)
    assert counted.calls["positions_and_equity"] == 1 and counted.calls["fills_since"] == 1
    assert view.as_of_ms >= b.sim.clock.now_ms() - 1
    counted.calls.clear()
    ex.fresh_view()  # no bar given: always a full read
    assert counted.calls["positions_and_equity"] == 1


def test_the_bar_close_read_sees_what_happened_on_the_venue_before_it(parts: Any) -> None:
    """A position opened on the venue behind the Executor's back (another client of the account)
    is in the view pushed for the next close, and was not in the view before it."""
    from actors.messages import make_cloid
    from actors.venues.base import OrderRequest

    b, ex, _, risk = parts
    req = OrderRequest(cloid=make_cloid("test", "BTC", "outside", "entry"), symbol="BTC",
                       side="buy", size=0.01, kind="market")  # fmt: skip
    b.venue.place(req)
    assert ex.portfolio().positions.get("BTC", 0.0) == 0.0
    ex.bar_closed(b.sim.clock.now_ms() + CLOSE_AHEAD_MS)
    view = _wait_views(risk, 1)[-1]
    assert view.positions.get("BTC", 0.0) == pytest.approx(0.01)


def test_a_failed_read_is_logged_and_leaves_the_view_as_it_was(
    parts: Any, caplog: pytest.LogCaptureFixture
) -> None:
    b, ex, counted, risk = parts
    as_of = ex.as_of_ms

    def down(*_: Any, **__: Any) -> Any:
        raise ConnectionError("venue down")

    counted._venue.positions_and_equity = down
    before = len(risk.views)
    ex.bar_closed(b.sim.clock.now_ms() + CLOSE_AHEAD_MS)
    assert ex.as_of_ms == as_of and len(risk.views) == before
    assert "not read: venue down" in caplog.text


def _wait_views(risk: _Risk, n: int) -> list[Any]:
    from tests.live.helpers import wait_for

    wait_for(lambda: len(risk.views) >= n, 10.0, f"{n} views")
    return risk.views


@pytest.mark.parametrize("concurrent", [True, False])
def test_the_account_is_read_beside_the_fills_when_the_venue_allows_it(
    parts: Any, concurrent: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a venue with ``concurrent_reads`` the account read overlaps the fills read (each waits
    to see the other start); negative control: without it they run one after the other."""
    import threading

    b, ex, counted, _ = parts
    started = {"fills": threading.Event(), "account": threading.Event()}
    overlapped: dict[str, bool] = {}
    venue = counted._venue
    real_fills, real_account = venue.fills_since, venue.positions_and_equity
    wait_s = 10.0 if concurrent else 0.3

    def fills(*a: Any) -> Any:
        started["fills"].set()
        overlapped["fills"] = started["account"].wait(wait_s)
        return real_fills(*a)

    def account() -> Any:
        started["account"].set()
        overlapped["account"] = started["fills"].wait(wait_s)
        return real_account()

    venue.fills_since, venue.positions_and_equity = fills, account
    # on the venue's class (``venue`` is the failure-counting wrapper, which delegates to it)
    monkeypatch.setattr(type(venue._venue), "concurrent_reads", concurrent)
    ex.bar_closed(b.sim.clock.now_ms() + CLOSE_AHEAD_MS)
    assert ex.as_of_ms >= b.sim.clock.now_ms()  # the read completed
    assert overlapped == ({"fills": True, "account": True} if concurrent
                          else {"fills": False, "account": True})  # fmt: skip


@pytest.mark.parametrize("answer", ["canceled", "not_open"])
def test_an_expired_entry_is_canceled_beside_the_account_read_then_the_fills_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    """The bar-close read (which holds the Executor's lock) cancels an entry whose TTL ended
    while the account is read, and reads the fills only once the cancel has answered: an entry
    the venue canceled can fill no more, so every fill that beat the cancel is in that read and
    the entry needs no look-up by cloid (one round trip less on the order path). Negative
    control: an entry the venue says was no longer open (it filled, or the venue canceled it)
    is looked up by cloid. Either way the entry is journaled canceled and is no longer pending
    in the view."""
    import threading

    import ray

    from tests.crash.harness import intent

    monkeypatch.setattr(ray, "get", inproc._get)
    ttl_ms = 60_000
    with bench(tmp_path) as b:
        keeper = inproc.LocalActor(StateKeeper(b.data_dir, snapshot_s=3600.0))
        spec = b.spec.model_copy(update={"clock_resync_s": 0.0})  # reads the manual clock
        ex = Executor(spec, keeper, None, poll_s=3600.0, reconcile_s=3600.0, entry_ttl_ms=ttl_ms)
        ex.risk = inproc.LocalActor(_Risk())
        venue = ex.venue
        try:
            entry = intent(b, "expiring", kind="limit")  # 5 % from the mid: it rests
            ex.submit(entry)
            assert "BTC" in ex.portfolio().pending
            b.sim.clock.advance(ms=ttl_ms)
            started = {"account": threading.Event(), "cancel": threading.Event()}
            overlapped: dict[str, bool] = {}
            calls: list[str] = []
            real = (venue.fills_since, venue.cancel, venue.positions_and_equity,
                    venue.order_by_cloid)  # fmt: skip

            def fills(*a: Any) -> Any:
                calls.append("fills")
                return real[0](*a)

            def cancel(*a: Any) -> Any:
                calls.append("cancel")
                started["cancel"].set()
                overlapped["cancel"] = started["account"].wait(10.0)
                was_open = real[1](*a)
                calls.append("cancel_answered")
                return was_open and answer == "canceled"

            def account() -> Any:
                started["account"].set()
                overlapped["account"] = started["cancel"].wait(10.0)
                return real[2]()

            def look_up(*a: Any) -> Any:
                calls.append("look_up")
                return real[3](*a)

            venue.fills_since, venue.cancel = fills, cancel
            venue.positions_and_equity, venue.order_by_cloid = account, look_up
            ex.bar_closed(b.sim.clock.now_ms())
            assert overlapped == {"cancel": True, "account": True}
            first_fills = calls.index("fills")
            assert calls.index("cancel_answered") < first_fills
            assert calls.count("look_up") == (0 if answer == "canceled" else 1)
            assert "BTC" not in ex.portfolio().pending and ex.resting == {}
            on_venue = b.venue.order_by_cloid("BTC", entry.cloid)
            assert on_venue is not None and on_venue.status == "canceled"
            assert inproc._get(keeper.order_status.remote(entry.cloid)) == "canceled"
        finally:
            ex.stop()
            inproc._get(keeper.close.remote())


def test_entries_expiring_together_are_canceled_in_one_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two entries whose TTL ends at the same close: one ``cancel_many`` request, both
    journaled canceled (a bar close of a multi-symbol account; one request was one per entry)."""
    import ray

    from tests.crash.harness import intent

    monkeypatch.setattr(ray, "get", inproc._get)
    ttl_ms = 60_000
    with bench(tmp_path) as b:
        keeper = inproc.LocalActor(StateKeeper(b.data_dir, snapshot_s=3600.0))
        spec = b.spec.model_copy(update={"clock_resync_s": 0.0})
        ex = Executor(spec, keeper, None, poll_s=3600.0, reconcile_s=3600.0,
                      entry_ttl_ms=ttl_ms, one_entry_per_symbol=False)  # fmt: skip
        ex.risk = inproc.LocalActor(_Risk())
        counted = _Counted(ex.venue)
        counted.READS = (*_Counted.READS, "cancel", "cancel_many")
        ex.venue = counted
        try:
            entries = [intent(b, f"together{k}", kind="limit", away=0.05 + k / 100) for k in (0, 1)]
            for e in entries:
                ex.submit(e)
            b.sim.clock.advance(ms=ttl_ms)
            counted.calls.clear()
            ex.bar_closed(b.sim.clock.now_ms())
            assert (counted.calls["cancel_many"], counted.calls["cancel"]) == (1, 0)
            for e in entries:
                assert inproc._get(keeper.order_status.remote(e.cloid)) == "canceled"
            assert b.venue.open_orders() == []
        finally:
            ex.stop()
            inproc._get(keeper.close.remote())


@pytest.mark.parametrize("ttl_ended", [True, False])
def test_an_unknown_entry_found_resting_past_its_ttl_is_canceled_in_the_same_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ttl_ended: bool
) -> None:
    """A lost reply: the entry's outcome is unknown until the bar-close read looks it up and
    finds it resting — after its TTL. The same read cancels it (the expiries beside the fills
    read were listed before the look-up), so the view it pushes holds no stale entry.
    Negative control: before the TTL's end it stays resting."""
    import time

    import ray

    from actors.venues.base import OrderRequest
    from tests.crash.harness import intent

    monkeypatch.setattr(ray, "get", inproc._get)
    ttl_ms = 60_000
    with bench(tmp_path) as b:
        keeper = inproc.LocalActor(StateKeeper(b.data_dir, snapshot_s=3600.0))
        spec = b.spec.model_copy(update={"clock_resync_s": 0.0})
        ex = Executor(spec, keeper, None, poll_s=3600.0, reconcile_s=3600.0, entry_ttl_ms=ttl_ms)
        ex.risk = inproc.LocalActor(_Risk())
        try:
            entry = intent(b, "lost-reply", kind="limit")
            assert inproc._get(keeper.record_intent.remote(entry))
            b.venue.place(OrderRequest(cloid=entry.cloid, symbol="BTC", side="buy", size=entry.size,
                                       kind="limit", price=entry.price))  # fmt: skip
            with ex._lock:  # as the order path leaves it when the reply is lost
                ex.unknown[entry.cloid] = (entry, time.time())
            b.sim.clock.advance(ms=ttl_ms if ttl_ended else ttl_ms - 1_000)
            ex.bar_closed(b.sim.clock.now_ms())
            assert ex.unknown == {}
            on_venue = b.venue.order_by_cloid("BTC", entry.cloid)
            assert on_venue is not None
            if ttl_ended:
                assert on_venue.status == "canceled" and ex.resting == {}
                assert inproc._get(keeper.order_status.remote(entry.cloid)) == "canceled"
            else:
                assert on_venue.status == "open" and entry.cloid in ex.resting
        finally:
            ex.stop()
            inproc._get(keeper.close.remote())
