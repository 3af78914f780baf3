"""`fractal data ...` — market data store commands: import, list, show, fetch.

Heavy imports (pandas, pyarrow, ccxt, the SDK) happen inside the commands so `fractal --help`
stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cluster.cli_common import console, fail, settings_or_exit

app = typer.Typer(no_args_is_help=True)
# tables are wide; when output is piped or captured, do not squeeze them into 80 columns
out = console if console.is_terminal else Console(width=200)


def _ts(value: object) -> str:
    return "-" if value is None else f"{value:%Y-%m-%d %H:%M}"


@app.command("import")
def import_(
    paths: Annotated[
        list[Path], typer.Argument(help="CSV files or folders of <venue>_<SYMBOL>_<tf>.csv.gz")
    ],
    repair: Annotated[
        bool, typer.Option(help="Drop NaN/duplicate/off-grid rows and sort (reported).")
    ] = False,
) -> None:
    """Import shipped CSV files into the parquet store (idempotent; merges, never duplicates)."""
    from rich.progress import Progress

    from research.data.importer import ImportResult, expand_paths, import_paths
    from research.data.store import MarketStore

    settings = settings_or_exit()
    try:
        files = expand_paths(paths)
    except FileNotFoundError as err:
        raise fail(str(err)) from None
    store = MarketStore(settings.store_dir)
    with Progress(console=out, transient=True, disable=len(files) < 2) as progress:
        task = progress.add_task("importing", total=len(files))

        def advance(result: ImportResult) -> None:
            progress.update(task, advance=1, description=result.path.name)

        results = import_paths(store, files, repair=repair, on_file=advance)

    table = Table(title=f"imported into {settings.store_dir}")
    for col in ("dataset", "new rows", "total rows", "first", "last", "gaps / repairs"):
        table.add_column(col, justify="right" if "rows" in col else "left")
    errors = []
    for r in results:
        if r.report is None:
            errors.append(r)
            continue
        rep = r.report
        notes = [str(rep.gaps)] if rep.gaps.gaps else []
        notes += rep.validation.repairs
        table.add_row(
            f"{rep.venue}/{rep.symbol}/{rep.timeframe}",
            str(rep.rows_added),
            str(rep.rows_total),
            _ts(rep.first),
            _ts(rep.last),
            "[yellow]" + "; ".join(notes) + "[/yellow]" if notes else "",
        )
    out.print(table)
    for r in errors:
        out.print(f"[red]rejected[/red] {r.path}: {r.error}")
    if errors:
        raise fail(f"{len(errors)} of {len(results)} files rejected (nothing of theirs stored)")


@app.command("list")
def list_() -> None:
    """List stored datasets with row counts, span and gaps."""
    from research.data.store import MarketStore

    settings = settings_or_exit()
    infos = MarketStore(settings.store_dir).list()
    if not infos:
        out.print(f"no datasets in {settings.store_dir} (try `fractal data import PATH`)")
        return
    table = Table(title=str(settings.store_dir))
    for col in ("venue", "symbol", "timeframe", "rows", "first", "last", "gaps"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for i in infos:
        gaps = "-" if i.gaps is None else str(i.gaps)
        table.add_row(i.venue, i.symbol, i.timeframe, str(i.rows), _ts(i.first), _ts(i.last), gaps)
    out.print(table)


@app.command("show")
def show(
    venue: str,
    symbol: Annotated[str, typer.Argument(help="BTC, BTCUSDC or BTC/USDC:USDC")],
    timeframe: Annotated[str, typer.Argument(help="e.g. 15m, 1h, or 'funding'")],
    tail: Annotated[int, typer.Option(min=0, help="How many last rows to print.")] = 10,
) -> None:
    """Summary of one dataset (rows, first/last, gaps) and its last rows."""
    from research.data.store import MarketStore
    from research.data.symbols import canonical_symbol, canonical_venue
    from research.data.timeframes import timeframe_ms
    from research.data.validation import find_gaps

    settings = settings_or_exit()
    store = MarketStore(settings.store_dir)
    try:
        if timeframe == "funding":
            df = store.read_funding(venue, symbol)
            gaps = None
        else:
            df = store.read(venue, symbol, timeframe)
            gaps = find_gaps(df.index, timeframe_ms(timeframe))  # type: ignore[arg-type]
    except (ValueError, FileNotFoundError) as err:
        raise fail(str(err)) from None
    name = f"{canonical_venue(venue)}/{canonical_symbol(venue, symbol)}/{timeframe}"
    out.print(f"[bold]{name}[/bold]  rows: {len(df)}")
    if len(df):
        out.print(f"first: {_ts(df.index[0])}  last: {_ts(df.index[-1])}")
    if gaps is not None:
        style = "yellow" if gaps.gaps else "green"
        out.print(f"[{style}]gaps: {gaps}[/{style}]")
    if tail:
        out.print(df.tail(tail).to_string())
