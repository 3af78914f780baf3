"""state.json: atomic, checksummed, corruption named, rebuildable from the journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from actors.state.journal import Journal
from actors.state.snapshot import (
    CorruptState,
    build_state_payload,
    read_state_json,
    write_state_json,
)
from tests.state.helpers import fill, intent


def test_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "state.json"
    write_state_json(p, {"a": 1, "b": [1.5, None]})
    assert read_state_json(p) == {"a": 1, "b": [1.5, None]}
    assert [x.name for x in tmp_path.iterdir()] == ["state.json"]  # no temp file left


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (lambda b: b[: len(b) // 2], "truncated"),
        (lambda b: b"", "empty file"),
        (lambda b: b.replace(b'"a": 1', b'"a": 2'), "checksum mismatch"),
        (lambda b: b"{not json at all}\n" + b, "invalid JSON"),
        (lambda b: b'{"x": 1}', "not a fractal-state/1 document"),
        (lambda b: b"\xff\xfe" + b, "not UTF-8"),
    ],
)
def test_corruption_is_named(tmp_path: Path, damage, problem: str) -> None:  # type: ignore[no-untyped-def]
    p = tmp_path / "state.json"
    write_state_json(p, {"a": 1})
    p.write_bytes(damage(p.read_bytes()))
    with pytest.raises(CorruptState, match=problem):
        read_state_json(p)


def test_nan_is_refused_and_the_old_file_kept(tmp_path: Path) -> None:
    p = tmp_path / "state.json"
    write_state_json(p, {"a": 1})
    with pytest.raises(ValueError):
        write_state_json(p, {"a": float("nan")})
    assert read_state_json(p) == {"a": 1}
    assert len(list(tmp_path.iterdir())) == 1


def test_payload_from_journal(tmp_path: Path) -> None:
    with Journal(tmp_path / "j.sqlite") as j:
        e = intent(1, stop=95.0, target=130.0)
        j.record_intent(e)
        j.record_fill(fill("t1", cloid=e.cloid, price=100.0, t=1))
        j.record_fill(fill("t2", side="sell", price=110.0, t=2))
        j.record_fill(fill("t3", symbol="ETH", size=2.0, price=10.0, t=3))
        stop = intent(2, symbol="ETH", side="sell", purpose="stop", kind="stop_loss",
                      trigger=9.0, reduce_only=True, stop=None, target=None)  # fmt: skip
        j.record_intent(stop)
        j.record_equity(3, 10_010.0)
        payload = build_state_payload(j, now_ms=42)
    p = tmp_path / "state.json"
    write_state_json(p, payload)
    state = read_state_json(p)
    assert state["written_ms"] == 42
    assert state["positions"] == [{"symbol": "ETH", "side": "long", "size": 2.0, "entry": 10.0,
                                   "stop": 9.0, "target": None, "opened_ms": 3}]  # fmt: skip
    assert [(o["cloid"], o["trigger_price"]) for o in state["open_orders"]] == [(stop.cloid, 9.0)]
    assert [t["pnl"] for t in state["trades"]] == [10.0]
    assert state["metrics"]["total_pnl"] == 10.0 and state["metrics"]["win_rate"] == 1.0
    assert state["counts"]["orders"] == 2 and state["counts"]["fills"] == 3
    assert state["equity"] == {"time_ms": 3, "equity": 10_010.0}
    json.loads(p.read_text())  # plain JSON for any reader
