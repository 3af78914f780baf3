"""The journal: durable, idempotent writes; versioned schema; read-only readers."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.messages import Event, Level, RiskDecision, Signal
from actors.state.journal import CorruptJournal, Journal, JournalError
from actors.state.schema import SCHEMA_VERSION
from tests.state.helpers import fill, intent, update


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    j = Journal(tmp_path / "state" / "journal.sqlite")
    yield j
    j.close()


def test_wal_and_full_sync_are_on(journal: Journal) -> None:
    c = sqlite3.connect(journal.path)
    assert c.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    c.close()
    assert journal._conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_record_intent_is_idempotent_on_cloid(journal: Journal) -> None:
    it = intent(1)
    assert journal.record_intent(it) is True
    assert journal.record_intent(it) is False
    assert journal.counts()["orders"] == 1
    assert journal.intent(it.cloid) == it
    assert journal.intent("0x" + "0" * 32) is None


def test_record_fill_dedupes_on_trade_id(journal: Journal) -> None:
    assert journal.record_fill(fill("t1", size=2.0)) is True
    assert journal.record_fill(fill("t1", size=2.0, seq=9)) is False
    assert journal.counts()["fills"] == 1
    assert journal.positions()["BTC"].size == 2.0


def test_open_intents_until_terminal(journal: Journal) -> None:
    a, b, c = intent(1), intent(2), intent(3, size=2.0)
    for it in (a, b, c):
        journal.record_intent(it)
    journal.record_order_update(update(a.cloid, "resting", seq=1, t=1))
    journal.record_order_update(update(b.cloid, "canceled", seq=2, t=5))
    journal.record_order_update(update(b.cloid, "resting", seq=3, t=1))  # late, stale
    journal.record_fill(fill("t1", cloid=c.cloid, size=2.0))  # filled by fills alone
    assert [i.cloid for i in journal.open_intents()] == [a.cloid]
    assert journal.order_status(b.cloid) == "canceled"  # terminal is absorbing
    assert journal.order_status(c.cloid) == "filled"
    assert journal.latest_update(a.cloid).status == "resting"  # type: ignore[union-attr]


def test_positions_carry_planned_then_resting_stop(journal: Journal) -> None:
    entry = intent(1, stop=95.0, target=130.0)
    journal.record_intent(entry)
    journal.record_fill(fill("t1", cloid=entry.cloid))
    assert journal.positions()["BTC"].stop == 95.0
    stop = intent(2, side="sell", purpose="stop", kind="stop_loss", trigger=97.0,
                  reduce_only=True, stop=None, target=None)  # fmt: skip
    journal.record_intent(stop)
    journal.record_order_update(update(stop.cloid, "resting", seq=1))
    pos = journal.positions()["BTC"]
    assert (pos.stop, pos.target) == (97.0, 130.0)


def test_signals_decisions_events_equity_meta_seen(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        sig = Signal(source="runner", seq=1, signal_id="s:BTC:15m:1", strategy="s", symbol="BTC",
                     bar_time_ms=1, side="buy", kind="market", price=None, stop=90.0)  # fmt: skip
        dec = RiskDecision(source="risk", seq=1, signal_id=sig.signal_id, approved=False,
                           rule="max_open_positions")  # fmt: skip
        j.record_signal(sig, None)
        j.record_signal(sig, dec)
        j.record_signal(sig, dec)
        with pytest.raises(ValueError, match="decision is for signal"):
            j.record_signal(sig, dec.model_copy(update={"signal_id": "other"}))
        ev = Event(source="x", seq=1, level=Level.WARNING, kind="k", text="t")
        assert j.record_event(ev) and not j.record_event(ev)
        j.record_equity(5, 10_000.0)
        j.set_meta("breaker", "drawdown")
        with pytest.raises(ValueError):
            j.set_meta("schema_version", "9")
        assert not j.seen("feed", 7)
        j.mark_seen("feed", 7)
        j.mark_seen("feed", 7)
    with Journal(path) as j:  # everything persisted across a reopen
        assert j.seen("feed", 7) and not j.seen("feed", 8)
        assert j.get_meta("breaker") == "drawdown" and j.get_meta("nope") is None
        assert j.last_equity() == (5, 10_000.0)
        c = j.counts()
        assert (c["signals"], c["decisions"], c["events"], c["equity_points"]) == (1, 1, 1, 1)
        [s] = j.recent_signals()
        assert (s["acted"], s["approved"], s["rule"]) == (False, False, "max_open_positions")


def test_newer_schema_refuses_to_open_and_is_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    Journal(path).close()
    c = sqlite3.connect(path)
    c.execute("UPDATE meta SET value=? WHERE key='schema_version'", (str(SCHEMA_VERSION + 1),))
    c.commit()
    c.close()
    before = path.read_bytes()
    with pytest.raises(JournalError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        Journal(path)
    assert path.read_bytes() == before


def test_garbage_file_is_reported_corrupt(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(CorruptJournal, match="not a readable SQLite journal"):
        Journal(path)


def test_readonly_reader_while_writer_is_open(journal: Journal) -> None:
    journal.record_fill(fill("t1"))
    reader = Journal.open_readonly(journal.path)
    try:
        assert reader.counts()["fills"] == 1
        journal.record_fill(fill("t2", t=1))  # the writer is not blocked by the reader
        assert reader.counts()["fills"] == 2
        with pytest.raises(JournalError, match="read-only"):
            reader.record_fill(fill("t3"))
    finally:
        reader.close()


def test_readonly_open_of_missing_journal(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="no journal"):
        Journal.open_readonly(tmp_path / "absent.sqlite")
    assert not (tmp_path / "absent.sqlite").exists()


@pytest.mark.parametrize("where", ["last_page", "middle_page", "truncated"])
def test_damaged_file_is_detected_at_open(tmp_path: Path, where: str) -> None:
    """F18: a damaged journal never opens as if it were fine (the caller quarantines it)."""
    path = tmp_path / "j.sqlite"
    with Journal(path) as j:
        for i in range(300):
            j.record_fill(fill(f"t{i}", t=i))
    raw = bytearray(path.read_bytes())
    page = 4096
    if where == "truncated":
        raw = raw[: len(raw) // 2]
    else:
        off = len(raw) - page if where == "last_page" else (len(raw) // page // 2) * page
        raw[off : off + page] = bytes((7 * k + 3) % 256 for k in range(page))
    path.write_bytes(bytes(raw))
    with pytest.raises(CorruptJournal, match="integrity check failed|not a readable"):
        Journal(path)


def test_reused_cloid_with_different_content_is_refused_and_logged(
    journal: Journal, caplog: pytest.LogCaptureFixture
) -> None:
    first = intent(1, size=1.0)
    journal.record_intent(first)
    assert journal.record_intent(first.model_copy(update={"seq": 99})) is False  # a retry
    assert caplog.records == []
    assert journal.record_intent(first.model_copy(update={"size": 5.0})) is False
    assert "reused by a different intent" in caplog.text
    assert journal.intent(first.cloid) == first


def test_concurrent_threads_write_through_one_journal(journal: Journal) -> None:
    import threading

    def writer(k: int) -> None:
        for i in range(25):
            journal.record_fill(fill(f"w{k}-{i}", t=i))
            journal.positions()  # reads interleave with writes

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads)
    assert journal.counts()["fills"] == 100 and journal.positions()["BTC"].size == 100.0
    assert journal.integrity_problem() is None
