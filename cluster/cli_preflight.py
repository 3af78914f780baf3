"""`fractal preflight` — the evidence the state store must hold before real money is traded.

Each item is pass/fail with the evidence it saw; `fractal live --network mainnet` refuses to
start while any fails (see :func:`require_preflight`). Read-only: it never writes the store.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Annotated, Any

import typer

from cluster.cli_common import console, settings_or_exit

MIN_TESTNET_DAYS = 7.0
MIN_TRADES = 20
MIN_RESTARTS = 3
REPO_ROOT = Path(__file__).resolve().parents[1]


def _item(name: str, passed: bool, evidence: str) -> dict[str, Any]:
    return {"name": name, "passed": bool(passed), "evidence": evidence}


def _rows(data_dir: Path, sql: str) -> list[tuple[Any, ...]]:
    from actors.state import journal_path
    from actors.state.schema import connect

    path = journal_path(data_dir)
    if not path.exists():
        return []
    conn = connect(path, readonly=True)
    try:
        return conn.execute(sql).fetchall()
    except sqlite3.OperationalError:  # table absent: nothing recorded
        return []
    finally:
        conn.close()


def check(data_dir: Path, repo_root: Path = REPO_ROOT) -> dict[str, Any]:
    """Every preflight item over the store at ``data_dir``: ``{"passed", "items"}``."""
    from actors.state.breakers import read_events
    from actors.state.runs import read_runs
    from strategies.breakers import BREAKERS

    items = []
    runs = [r for r in read_runs(data_dir) if r["network"] == "testnet"]
    days = [(int(r["end_ms"]) - int(r["start_ms"])) / 86_400_000 for r in runs  # type: ignore[call-overload]
            if r["clean"] and r["end_ms"]]  # fmt: skip
    best = max(days, default=0.0)
    items.append(_item("testnet_run_7_days", best >= MIN_TESTNET_DAYS,
                       f"longest clean testnet run {best:.2f} days of {len(runs)} testnet runs "
                       f"(need >= {MIN_TESTNET_DAYS:g})"))  # fmt: skip
    n_trades = 0
    try:
        from actors.state import journal_path
        from actors.state.journal import Journal

        if journal_path(data_dir).exists():
            with Journal.open_readonly(journal_path(data_dir)) as j:
                n_trades = int(j.metrics().get("trades", 0))
    except Exception as exc:  # an unreadable journal proves nothing
        items.append(_item("journal_readable", False, f"journal unreadable: {exc}"))
    items.append(_item("trades_20", n_trades >= MIN_TRADES,
                       f"{n_trades} closed trades (need >= {MIN_TRADES})"))  # fmt: skip
    events, problems = read_events(data_dir)
    done = {str(e["breaker"]) for e in events if e["action"] == "resumed"}
    tripped = {str(e["breaker"]) for e in events if e["action"] == "trip"}
    missing = [b for b in BREAKERS if b not in done or b not in tripped]
    items.append(_item("breakers_exercised", not missing,
                       "every breaker tripped and resumed" if not missing else
                       f"never tripped and resumed: {', '.join(missing)}"
                       + (f"; {len(problems)} garbled log lines" if problems else "")))  # fmt: skip
    recs = _rows(data_dir, "SELECT recorded_ms, clean FROM reconciliations ORDER BY recorded_ms")
    starts = [int(r["start_ms"]) for r in runs[1:]]  # type: ignore[call-overload]
    good = sum(1 for i, s in enumerate(starts)
               if any(c and s <= t < (starts[i + 1] if i + 1 < len(starts) else 2**62)
                      for t, c in recs))  # fmt: skip
    items.append(_item("restarts_reconciled", good >= MIN_RESTARTS,
                       f"{good} testnet restarts followed by a clean reconciliation "
                       f"(need >= {MIN_RESTARTS})"))  # fmt: skip
    alerts = _rows(data_dir, "SELECT COUNT(*) FROM events WHERE level IN ('WARNING','CRITICAL')")
    n_alerts = int(alerts[0][0]) if alerts else 0
    items.append(_item("alerts_delivered", n_alerts > 0,
                       f"{n_alerts} WARNING/CRITICAL events recorded by the Alerter"))  # fmt: skip
    backups = data_dir / "backups"
    n_backups = len(list(backups.iterdir())) if backups.is_dir() else 0
    items.append(_item("backups_present", n_backups > 0, f"{n_backups} entries in {backups}"))
    dr = repo_root / "DISASTER_RECOVERY.md"
    items.append(_item("disaster_recovery_doc", dr.is_file(),
                       f"{dr} {'present' if dr.is_file() else 'missing'}"))  # fmt: skip
    return {"passed": all(i["passed"] for i in items), "items": items}


def failed_names(report: dict[str, Any]) -> list[str]:
    return [i["name"] for i in report["items"] if not i["passed"]]


def preflight(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Check the evidence needed before mainnet; exit 1 when any item fails."""
    report = check(settings_or_exit().fractal_data_dir)
    if as_json:
        print(json.dumps(report))
    else:
        for i in report["items"]:
            mark = "[green]PASS[/green]" if i["passed"] else "[bold red]FAIL[/bold red]"
            console.print(f"{mark} {i['name']:<22} {i['evidence']}", highlight=False)
    if not report["passed"]:
        raise typer.Exit(1)


ACK = "I ACCEPT THE RISK"


def require_preflight(data_dir: Path, accept_failure: bool) -> None:
    """Gate for `fractal live --network mainnet`, before any venue or Ray is touched: refuse
    (exit 1) while preflight fails, unless the operator asked to override *and* types
    :data:`ACK` on stdin; the override is logged in the breaker event log."""
    from cluster.cli_common import err_console

    report = check(data_dir)
    if report["passed"]:
        return
    failed = failed_names(report)
    err_console.print(f"[red]error:[/red] mainnet preflight failed: {', '.join(failed)} "
                      "(see `fractal preflight`)", highlight=False)  # fmt: skip
    if not accept_failure:
        raise typer.Exit(1)
    err_console.print(f"Type exactly '{ACK}' to start mainnet anyway:", highlight=False)
    import sys

    if sys.stdin.readline().strip() != ACK:
        err_console.print("[red]not acknowledged; not starting[/red]")
        raise typer.Exit(1)
    from actors.state.breakers import BreakerStore

    BreakerStore(data_dir).log(_now_ms(), "preflight", "override_acknowledged", {},
                               f"mainnet started with failed preflight: {', '.join(failed)}")  # fmt: skip


def _now_ms() -> int:
    from datetime import UTC, datetime

    return int(datetime.now(UTC).timestamp() * 1000)
