"""Power-cut style kills: SIGKILL in the middle of writes leaves a sound store (F1, F18).

No sleeps: the child reports progress through its stdout pipe; the parent kills it after a
given number of reports, while it keeps writing."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from actors.state.journal import Journal
from actors.state.snapshot import read_state_json, write_state_json
from tests.conftest import PROJECT_ROOT

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from actors.messages import Fill, OrderIntent, make_cloid
    from actors.state.journal import Journal
    j = Journal(Path(sys.argv[1]))
    i = j.counts()["fills"]  # continue after what an earlier (killed) writer committed
    while True:
        cloid = make_cloid("s", "BTC", f"sig{i}", "entry")
        j.record_intent(OrderIntent(source="x", seq=i, intent_id=f"i{i}", cloid=cloid,
            signal_id=f"sig{i}", symbol="BTC", side="buy", size=1.0, kind="market",
            purpose="entry"))
        j.record_fill(Fill(source="v", seq=i, trade_id=f"t{i}", cloid=cloid, venue_order_id="1",
            symbol="BTC", side="buy" if i % 2 else "sell", size=1.0, price=100.0 + i % 7,
            time_ms=i))
        print(i, flush=True)  # committed and fsynced before this line is written
        i += 1
""")


def _spawn(code: str, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True, env=env)  # fmt: skip


def test_sigkill_mid_stream_keeps_every_committed_record(tmp_path: Path) -> None:
    path = tmp_path / "state" / "journal.sqlite"
    committed: list[int] = []
    for round_ in range(3):  # kill, reopen, keep writing on top, kill again
        proc = _spawn(WRITER, str(path))
        assert proc.stdout is not None
        try:
            for line in proc.stdout:
                committed.append(int(line))
                if len(committed) >= 40 * (round_ + 1):
                    break
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert committed == list(range(len(committed)))  # each round continued the last
        # a reader (`fractal status`) sees the committed records before any writer reopens
        with Journal.open_readonly(path, check=True) as reader:
            assert {f"t{i}" for i in committed} <= reader.known_trade_ids()
        raw = sqlite3.connect(path)
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        raw.close()
        with Journal(path) as j:  # opens (quick_check passes) and holds every reported record
            ids = j.known_trade_ids()
            assert {f"t{i}" for i in committed} <= ids
            assert all(j.intent(f.cloid) is not None for f in j.fills() if f.cloid)


SNAPSHOT_WRITER = textwrap.dedent("""
    import os, sys
    from pathlib import Path
    from actors.state.snapshot import write_state_json
    path = Path(sys.argv[1])
    write_state_json(path, {"version": "good"})
    def stuck(src, dst):  # the process dies here: temp written and fsynced, not yet renamed
        print(src, flush=True)
        sys.stdin.read()
    os.replace = stuck
    write_state_json(path, {"version": "new"})
""")


def test_kill_between_temp_write_and_rename_keeps_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    proc = _spawn(SNAPSHOT_WRITER, str(path))
    assert proc.stdout is not None
    try:
        tmp = Path(proc.stdout.readline().strip())
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert tmp.parent == tmp_path and tmp.exists()  # the crash left the new body in a temp file
    assert read_state_json(tmp) == {"version": "new"}
    assert read_state_json(path) == {"version": "good"}  # ...and the previous good file intact
    write_state_json(path, {"version": "next"})  # the next write succeeds and tidies up
    assert read_state_json(path) == {"version": "next"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_status_in_another_process_while_the_writer_runs(_isolated_data_dir: Path) -> None:
    """`fractal status --json` in its own process, repeatedly, against a live writer process:
    exit 0, and it sees at least every record the writer had reported committed."""
    import json

    from actors.state import journal_path

    proc = _spawn(WRITER, str(journal_path(_isolated_data_dir)))
    assert proc.stdout is not None
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    seen: list[int] = []
    try:
        for _ in range(3):
            for _ in range(10):  # let the writer commit some more
                reported = int(proc.stdout.readline()) + 1
            res = subprocess.run([sys.executable, "-m", "cluster.cli", "status", "--json"],
                                 capture_output=True, text=True, env=env, timeout=120)  # fmt: skip
            assert res.returncode == 0, res.stderr
            out = json.loads(res.stdout)
            assert out["store"] == "ok" and out["fills"] >= reported
            seen.append(out["fills"])
    finally:
        proc.kill()
        proc.wait(timeout=30)
    assert seen == sorted(seen) and seen[-1] > seen[0]
