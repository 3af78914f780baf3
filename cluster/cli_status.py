"""`fractal status [--json]` — what the live system holds, read from the state store.

Read-only (the journal is opened ``mode=ro``), so it works while `fractal live` runs.
Exit codes: 0 (also when nothing has run yet: the output says so), 2 for a corrupt store.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table

from cluster.cli_common import console, fail, settings_or_exit


def _when(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _fmt(x: Any) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.6g}"
    return str(x)


def _print_human(st: dict[str, Any]) -> None:
    if st["store"] == "missing":
        console.print(f"[yellow]{st['message']}[/yellow]")
        console.print("orders: 0, fills: 0")
        return
    recon = st["reconciliation"]
    recon_text = "never run" if recon is None else (
        "[green]clean[/green]" if recon["clean"] else
        f"[red]{len(recon['differences'])} difference(s)[/red], blocked: "
        f"{', '.join(recon['blocked_symbols']) or '-'}"
    )  # fmt: skip
    eq = st["equity"]
    pnl = st["pnl"]
    summary = Table(title="Fractal Trader — state store", show_header=False)
    for k, v in [
        ("journal", st["journal"]),
        ("last write", _when(st["last_write_ms"])),
        ("orders / fills / signals", f"{st['orders']} / {st['fills']} / {st['signals']}"),
        ("equity", f"{_fmt(eq['equity'])} at {_when(eq['time_ms'])}" if eq else "-"),
        ("closed trades", _fmt(pnl["trades"])),
        ("realised P&L (net of fees)", _fmt(pnl["realized_closed_trades"])),
        ("win rate", f"{pnl['win_rate']:.1%}"),
        ("Sharpe (per trade)", _fmt(pnl["sharpe"])),
        ("reconciliation", recon_text),
        ("state.json", _when(st["state_json"]["written_ms"]) if st["state_json"] else "absent"),
    ]:
        summary.add_row(k, v)
    console.print(summary)
    _table("Positions", st["positions"], ["symbol", "side", "size", "entry", "stop", "target"])
    _table(
        "Open orders",
        st["open_orders"],
        ["symbol", "purpose", "kind", "side", "size", "price", "trigger_price", "status"],
    )
    _table("Last signals", st["signals_recent"][:10],
           ["bar_time_ms", "symbol", "strategy", "side", "acted", "rule"])  # fmt: skip
    if recon and not recon["clean"]:
        for d in recon["differences"]:
            console.print(f"[red]•[/red] {d}")


def _table(title: str, rows: list[dict[str, Any]], cols: list[str]) -> None:
    if not rows:
        console.print(f"{title}: none")
        return
    t = Table(title=title)
    for c in cols:
        t.add_column(c)
    for r in rows:
        t.add_row(*(_when(r[c]) if c.endswith("_ms") else _fmt(r[c]) for c in cols))
    console.print(t)


def status(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of tables."),
) -> None:
    """Positions, open orders, order and fill counts, equity and P&L, the last signals (acted on
    or which rule blocked them) and the reconciliation status, read from the state store."""
    from actors.state.status import StoreCorrupt
    from actors.state.status import status as read_status

    settings = settings_or_exit()
    try:
        st = read_status(settings.fractal_data_dir)
    except StoreCorrupt as err:
        raise fail(f"corrupt state store: {err}", code=2) from None
    if as_json:
        typer.echo(json.dumps(st, sort_keys=True, allow_nan=False))
    else:
        _print_human(st)
