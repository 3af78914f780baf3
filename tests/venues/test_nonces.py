"""Nonces are strictly increasing across threads, processes, clock steps and restarts (F11)."""

from __future__ import annotations

import multiprocessing as mp
import threading
from pathlib import Path

import pytest

from actors.messages import make_cloid
from actors.venues.base import OrderRequest
from actors.venues.hyperliquid import HyperliquidVenue
from actors.venues.nonces import RESERVE_MS, NonceStore, wall_clock_ms
from actors.venues.paper import PaperExchange
from tests.conftest import MARKET


def test_frozen_clock_still_increases(tmp_path: Path) -> None:
    store = NonceStore(tmp_path / "n.json", clock_ms=lambda: 1_000)
    assert [store.next() for _ in range(3)] == [1_000, 1_001, 1_002]


def test_clock_back_and_restart_never_goes_backwards(tmp_path: Path) -> None:
    path = tmp_path / "n.json"
    first = NonceStore(path, clock_ms=lambda: 50_000)
    used = [first.next() for _ in range(5)]
    restarted = NonceStore(path, clock_ms=lambda: 48_000)  # clock set back 2 s
    assert restarted.last >= used[-1]  # the persisted reservation: above all of them
    assert used[-1] < restarted.next() <= used[-1] + RESERVE_MS + 1
    forward = NonceStore(path, clock_ms=lambda: 90_000)
    assert forward.next() == 90_000


def test_concurrent_threads_get_unique_nonces(tmp_path: Path) -> None:
    store = NonceStore(tmp_path / "n.json", clock_ms=lambda: 7)
    got: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [store.next() for _ in range(4)]
        with lock:
            got.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == len(set(got)) == 200


def _draw(path: str, n: int, out: mp.Queue) -> None:  # type: ignore[type-arg]
    store = NonceStore(Path(path), clock_ms=lambda: 5)
    out.put([store.next() for _ in range(n)])


def test_two_processes_sharing_the_file_get_unique_nonces(tmp_path: Path) -> None:
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()  # type: ignore[type-arg]
    procs = [ctx.Process(target=_draw, args=(str(tmp_path / "n.json"), 50, q)) for _ in range(2)]
    for p in procs:
        p.start()
    got = q.get(timeout=120) + q.get(timeout=120)
    for p in procs:
        p.join(timeout=60)
    assert len(got) == len(set(got)) == 100


def test_one_durable_write_per_reserved_block(tmp_path: Path) -> None:
    """The high-water mark is written when a nonce crosses it, not per nonce; a restart (or a
    second process) starts above the persisted mark."""
    now = [1_000_000]
    path = tmp_path / "n.json"
    store = NonceStore(path, clock_ms=lambda: now[0], reserve_ms=100)
    writes: list[int] = []
    real_write = store._write
    store._write = lambda n: (writes.append(n), real_write(n))[1]  # type: ignore[method-assign]
    got = []
    for _ in range(250):
        got.append(store.next())
        now[0] += 1
    assert got == list(range(1_000_000, 1_000_250))
    assert writes == [1_000_100, 1_000_201, 1_000_302]  # 3 durable writes for 250 nonces
    assert NonceStore(path, clock_ms=lambda: 0).next() == 1_000_303


def test_corrupt_nonce_file_is_refused_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "n.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="corrupt"):
        NonceStore(path).next()
    assert path.read_text() == "{not json"  # nothing persisted is lost


def test_signed_actions_after_clock_back_and_restart_are_accepted(tmp_path: Path) -> None:
    """Against the simulator (which refuses reused nonces): a restart with the clock 2 s back
    still signs above every nonce the venue has seen."""
    t0 = wall_clock_ms()
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px:
        book = px.simulator.venue.nonces
        signer = px.spec.account_address

        def place(venue: HyperliquidVenue, tag: str) -> None:
            c = make_cloid("nonce", "BTC", tag, "entry")
            venue.place(
                OrderRequest(
                    cloid=c, symbol="BTC", side="buy", size=0.001, kind="limit", price=50_000.0
                )  # fmt: skip
            )

        first = HyperliquidVenue(px.spec, nonce_clock_ms=lambda: t0)  # frozen clock
        for i in range(3):
            place(first, f"a{i}")
        first.close()
        before = list(book.kept[signer])
        assert before == [t0, t0 + 1, t0 + 2]
        again = HyperliquidVenue(px.spec, nonce_clock_ms=lambda: t0 - 2_000)
        place(again, "b0")
        again.close()
        after = book.kept[signer]
        assert t0 + 2 < after[-1] <= t0 + 3 + RESERVE_MS and len(after) == 4
        assert len(px.simulator.venue.open_orders_of(signer)) == 4


def test_without_persistence_a_restart_reuses_a_nonce(tmp_path: Path) -> None:
    """The failure the persisted store prevents: the same frozen clock after a restart."""
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px:
        spec = px.spec.model_copy(update={"nonce_path": None})
        t0 = wall_clock_ms()
        c = make_cloid("nonce", "BTC", "x", "entry")
        req = OrderRequest(cloid=c, symbol="BTC", side="buy", size=0.001, kind="limit",
                           price=50_000.0)  # fmt: skip
        HyperliquidVenue(spec, nonce_clock_ms=lambda: t0).place(req)
        from actors.venues.base import OrderRejected

        with pytest.raises(OrderRejected, match="duplicate nonce"):
            HyperliquidVenue(spec, nonce_clock_ms=lambda: t0).place(
                req.model_copy(update={"cloid": make_cloid("nonce", "BTC", "y", "entry")})
            )


def test_fifty_concurrent_submits_are_all_accepted(tmp_path: Path) -> None:
    """F11 PROP: one signer, 50 threads placing at once -> 50 orders, 50 distinct nonces."""
    with PaperExchange(market_dir=MARKET, state_dir=tmp_path, symbols=["BTC"], speed=1.0) as px:
        venue = HyperliquidVenue(px.spec)
        errors: list[BaseException] = []
        start = threading.Barrier(50)

        def submit(k: int) -> None:
            c = make_cloid("concurrent", "BTC", str(k), "entry")
            start.wait(timeout=60)
            try:
                venue.place(
                    OrderRequest(
                        cloid=c, symbol="BTC", side="buy", size=0.001, kind="limit", price=50_000.0
                    )  # fmt: skip
                )
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=submit, args=(k,)) for k in range(50)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert errors == []
        assert len(venue.open_orders()) == 50
        assert len(set(px.simulator.venue.nonces.kept[px.spec.account_address])) == 50
        venue.close()
