"""`fractal data ...` — market data store commands: import, list, show, fetch.

Heavy imports (pandas, pyarrow, ccxt, the SDK) happen inside the commands so `fractal --help`
stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from cluster.cli_common import console, err_console, fail, settings_or_exit

if TYPE_CHECKING:
    from research.data.download import MarketDataSource

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
    overwrite: Annotated[
        bool, typer.Option(help="Let rows of later files replace differing stored rows.")
    ] = False,
) -> None:
    """Import shipped CSV files into the parquet store (idempotent; merges, never duplicates)."""
    from rich.progress import Progress

    from research.data.importer import ImportResult, expand_paths, import_paths
    from research.data.store import MarketStore

    settings = settings_or_exit()
    try:
        files = expand_paths(paths)
    except FileNotFoundError as err:  # a path the user typed
        raise fail(str(err), 2) from None
    store = MarketStore(settings.store_dir)
    with Progress(console=out, transient=True, disable=len(files) < 2) as progress:
        task = progress.add_task("importing", total=len(files))

        def advance(result: ImportResult) -> None:
            progress.update(task, advance=1, description=result.path.name)

        results = import_paths(store, files, repair=repair, overwrite=overwrite, on_file=advance)

    imported = [r.report for r in results if r.report is not None]
    if imported:
        table = Table(title=f"imported into {settings.store_dir}")
        for col in ("dataset", "new rows", "total rows", "first", "last", "gaps / repairs"):
            table.add_column(col, justify="right" if "rows" in col else "left")
        for rep in imported:
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
    errors = [r for r in results if r.report is None]
    for r in errors:
        why = r.conflict.with_remedy("re-run with --overwrite") if r.conflict else r.error
        err_console.print(f"[red]rejected[/red] {r.path}: {why}", highlight=False)
    if errors:
        hints = ["--repair drops bad rows"] if any(r.conflict is None for r in errors) else []
        hints += (
            ["--overwrite replaces differing stored rows"]
            if any(r.conflict for r in errors)
            else []
        )
        raise fail(
            f"{len(errors)} of {len(results)} files rejected (nothing of theirs stored; "
            f"{', '.join(hints)})",
            2,
        )


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
    except FileNotFoundError as err:  # nothing stored under that name
        raise fail(str(err)) from None
    except ValueError as err:  # a venue, symbol or timeframe that cannot exist
        raise fail(str(err), 2) from None
    name = f"{canonical_venue(venue)}/{canonical_symbol(venue, symbol)}/{timeframe}"
    out.print(f"[bold]{name}[/bold]  rows: {len(df)}")
    if len(df):
        out.print(f"first: {_ts(df.index[0])}  last: {_ts(df.index[-1])}")
    if gaps is not None:
        style = "yellow" if gaps.gaps else "green"
        out.print(f"[{style}]gaps: {gaps}[/{style}]")
    if tail:
        out.print(df.tail(tail).to_string())


@app.command("fetch")
def fetch(
    symbols: Annotated[str, typer.Option(help="Comma-separated, e.g. BTC,ETH (or BTCUSDT).")],
    since: Annotated[str, typer.Option(help="Start date (UTC), e.g. 2025-01-01.")],
    venue: Annotated[str, typer.Option(help="hyperliquid, binanceusdm, bybit or okx.")] = (
        "hyperliquid"
    ),
    timeframe: Annotated[str | None, typer.Option(help="Bar size; default from settings.")] = None,
    until: Annotated[
        str | None, typer.Option(help="End date (UTC, exclusive); default now.")
    ] = None,
    testnet: Annotated[bool, typer.Option(help="Use the venue's testnet/sandbox.")] = False,
    base_url: Annotated[
        str | None, typer.Option(help="Override the API URL (official or loopback only).")
    ] = None,
    funding: Annotated[bool, typer.Option(help="Also fetch funding history.")] = True,
) -> None:
    """Download only the missing candles (and funding) into the store, validated like imports.

    Market data is public: no key is needed. Hyperliquid defaults to the mainnet info URL.
    """
    from rich.progress import Progress, TaskID

    from research.data.download import download_candles, download_funding, to_ms
    from research.data.retry import FetchError
    from research.data.store import MarketStore
    from research.data.symbols import canonical_symbol
    from research.data.timeframes import timeframe_ms

    settings = settings_or_exit()
    venue = venue.strip().lower()
    tf = timeframe or settings.default_timeframe
    names = [s.strip() for s in symbols.split(",") if s.strip()]
    try:
        timeframe_ms(tf)
        start = to_ms(since)
        end = to_ms(until) if until else to_ms("now")
        if not names:
            raise ValueError("--symbols is empty")
        if start >= end:
            raise ValueError(f"--since {since} is not before --until {until or 'now'}")
        source = _make_source(venue, testnet=testnet, base_url=base_url)
    except ValueError as err:  # bad arguments
        raise fail(str(err), 2) from None

    store = MarketStore(settings.store_dir)
    table = Table(title=f"fetched {venue} {tf} into {settings.store_dir}")
    for col in ("dataset", "requests", "received", "new rows", "total rows", "gaps"):
        table.add_column(col, justify="left" if col in ("dataset", "gaps") else "right")
    failures = []
    with Progress(console=out, transient=True) as progress:
        for name in names:
            task = progress.add_task(f"{name} {tf}", total=end - start)

            def advance(span: tuple[int, int], task: TaskID = task) -> None:
                progress.update(task, advance=span[1] - span[0])

            try:
                res = download_candles(
                    store, source, venue, name, tf, start, end, on_request=advance
                )
                progress.update(task, completed=end - start)
                results = [res]
                if funding:
                    results.append(download_funding(store, source, venue, name, start, end))
            except (FetchError, ValueError, OSError) as err:
                failures.append(f"{name}: {err}")
                continue
            for r in results:
                rep = r.report
                table.add_row(
                    f"{venue}/{canonical_symbol(venue, name)}/{r.timeframe}",
                    str(len(r.requested)),
                    str(r.rows_received),
                    str(rep.rows_added if rep else 0),
                    str(rep.rows_total if rep else "-"),
                    str(rep.gaps) if rep and rep.gaps.gaps else "",
                )
    out.print(table)
    for line in failures:
        out.print(f"[red]failed[/red] {line}")
    if failures:
        raise fail(f"{len(failures)} of {len(names)} symbols failed (stored data kept)")


def _make_source(venue: str, *, testnet: bool, base_url: str | None) -> MarketDataSource:
    """The fetcher for ``venue``; ValueError with a clear message for bad combinations."""
    from research.data.fetch_ccxt import SUPPORTED, CcxtFetcher, make_exchange, point_at
    from research.data.fetch_hyperliquid import MAINNET_URL, TESTNET_URL, HyperliquidFetcher

    if venue == "hyperliquid":
        return HyperliquidFetcher(base_url or (TESTNET_URL if testnet else MAINNET_URL))
    if venue not in SUPPORTED:
        raise ValueError(f"unknown venue {venue!r}; expected hyperliquid or one of {SUPPORTED}")
    exchange = make_exchange(venue, sandbox=testnet)
    if base_url:
        if not base_url.startswith(("http://127.0.0.1", "http://localhost")):
            raise ValueError("--base-url for ccxt venues is for loopback test servers only")
        point_at(exchange, base_url)
    return CcxtFetcher(exchange)
