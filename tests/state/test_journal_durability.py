"""Money facts commit fsynced (synchronous=FULL); operator records commit without an fsync
(NORMAL), and a batch of events is one transaction."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from actors.messages import Event, Fill, Level, OrderUpdate, RiskDecision, Signal
from actors.state.journal import Journal
from tests.live.helpers import entry_intent

FULL, NORMAL = 2, 1


def level(j: Journal) -> int:
    return int(j._conn.execute("PRAGMA synchronous").fetchone()[0])


def commits(j: Journal) -> list[str]:
    seen: list[str] = []
    j._conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.startswith(("COMMIT", "PRAGMA synchronous")) else None
    )
    return seen


def ev(n: int) -> Event:
    return Event(source="t", seq=n, level=Level.INFO, kind="k", text=f"e{n}")


def test_each_record_commits_at_its_durability_level(tmp_path: Path) -> None:
    intent = entry_intent("BTC", "buy", 0.01, 100_000.0, "d")
    sig = Signal(source="r", seq=1, signal_id="s1", strategy="t", symbol="BTC", bar_time_ms=1,
                 side="buy", kind="market", price=None, stop=99.0)  # fmt: skip
    dec = RiskDecision(source="risk", seq=1, signal_id="s1", approved=True, rule="approved")
    upd = OrderUpdate(source="x", seq=1, cloid=intent.cloid, venue_order_id="1", symbol="BTC",
                      status="resting")  # fmt: skip
    fill = Fill(source="x", seq=2, trade_id="t1", cloid=intent.cloid, venue_order_id="1",
                symbol="BTC", side="buy", size=0.01, price=100.0, time_ms=1)  # fmt: skip
    with Journal(tmp_path / "j.sqlite") as j:
        assert level(j) == FULL
        j.record_signal(sig, dec)
        assert level(j) == NORMAL
        j.record_intent(intent)  # persist before send: fsynced
        assert level(j) == FULL
        j.record_event(ev(1))
        j.record_equity(1, 1.0)
        assert level(j) == NORMAL
        for write in (lambda: j.record_order_update(upd), lambda: j.record_fill(fill),
                      lambda: j.set_meta("k", "v")):  # fmt: skip
            j.record_event(ev(2))
            write()
            assert level(j) == FULL
    # and all of it is there after a reopen
    with Journal.open_readonly(tmp_path / "j.sqlite") as r:
        c = r.counts()
        assert (c["orders"], c["fills"], c["signals"]) == (1, 1, 1)


def test_a_batch_of_events_is_one_transaction_and_dedupes(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j:
        seen = commits(j)
        assert j.record_events([ev(1), ev(2), ev(3)]) == 3
        assert seen.count("COMMIT") == 1
        assert j.record_events([ev(3), ev(4)]) == 1  # (source, seq) already recorded: skipped
        assert j.record_events([]) == 0
    n = sqlite3.connect(tmp_path / "j.sqlite").execute("SELECT COUNT(*) FROM events").fetchone()
    assert n[0] == 4
