"""`fractal breaker status|trip|resume|confirm` and `fractal kill [--flatten]` — the operator's
circuit breakers and kill switch.

Wiring only: the transitions are :mod:`strategies.breakers`, their storage
:mod:`actors.state.breakers`. Resuming takes two steps (``resume NAME`` prints a one-time code,
``confirm CODE`` re-arms) so that no single mistyped command re-enables trading. The live system
re-reads the states before every risk decision, so a trip here halts new entries at once.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from cluster.cli_common import console, err_console, fail, settings_or_exit

app = typer.Typer(no_args_is_help=True, help="Circuit breakers: status, trip, resume, confirm.")


def _store():  # type: ignore[no-untyped-def]
    from actors.state.breakers import BreakerStore

    return BreakerStore(settings_or_exit().fractal_data_dir)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="seconds") if ms else "-"


@app.command("status")
def status(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable.")] = False,
) -> None:
    """Every breaker's state (armed / tripped / resume_pending) with its last trip's evidence."""
    from actors.state.breakers import read_events, read_states
    from strategies.breakers import BreakerError

    data_dir = settings_or_exit().fractal_data_dir
    try:
        states = read_states(data_dir)
    except BreakerError as err:
        raise fail(str(err), 1) from None
    _, problems = read_events(data_dir)
    for p in problems:
        err_console.print(f"[yellow]warning:[/yellow] {p}")
    rows = [{"name": s.name, "state": s.state, "tripped": s.tripped, "since": _when(s.since_ms),
             "reason": s.reason, "values": s.values} for s in states.values()]  # fmt: skip
    if as_json:
        print(json.dumps({"breakers": rows, "halted": [r["name"] for r in rows if r["tripped"]]}))
        return
    for r in rows:
        color = "green" if not r["tripped"] else "bold red"
        console.print(f"{r['name']:<18} [{color}]{r['state']:<15}[/{color}] {r['since']}  "
                      f"{r['reason']}", highlight=False)  # fmt: skip


@app.command("trip")
def trip(
    name: Annotated[str, typer.Argument(help="Breaker name (see `fractal breaker status`).")],
    reason: Annotated[str, typer.Option(help="Why (logged).")] = "manual trip",
) -> None:
    """Trip a breaker by hand: no new entries until it is resumed (stops stay on the venue)."""
    from strategies.breakers import BreakerError

    try:
        s = _store().trip(name, f"manual: {reason}", {"manual": 1.0})
    except BreakerError as err:
        raise fail(str(err), 2) from None
    console.print(f"breaker {s.name} is {s.state}: {s.reason}", highlight=False)


@app.command("resume")
def resume(name: Annotated[str, typer.Argument(help="The tripped breaker to resume.")]) -> None:
    """Step one of two: prints a one-time code; `fractal breaker confirm CODE` re-arms."""
    from strategies.breakers import BreakerError

    code = secrets.token_hex(4)
    try:
        _store().request_resume(name, code)
    except BreakerError as err:
        raise fail(str(err), 2) from None
    print(f"breaker {name} resume requested; confirm with: fractal breaker confirm {code}")


@app.command("confirm")
def confirm(code: Annotated[str, typer.Argument(help="The one-time code from `resume`.")]) -> None:
    """Step two: the right, unused code re-arms its breaker; anything else exits 2, unchanged."""
    from strategies.breakers import BreakerError

    try:
        s = _store().confirm(code)
    except BreakerError as err:
        raise fail(str(err), 2) from None
    console.print(f"breaker {s.name} re-armed", highlight=False)


def kill(
    flatten: Annotated[
        bool, typer.Option("--flatten", help="Also close every position (reduce-only orders).")
    ] = False,
    reason: Annotated[str, typer.Option(help="Why (logged).")] = "kill switch",
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the venue to show the account flat.")
    ] = 60.0,
) -> None:
    """Kill switch: trip `kill` (no new entries), cancel every order, with --flatten close every
    position reduce-only, then confirm from the venue. Exit 1 if anything is left open."""
    from strategies.breakers import BreakerError

    settings = settings_or_exit()
    if timeout <= 0:
        raise fail(f"--timeout must be positive, got {timeout:g}", 2)
    try:  # first: a running live system approves nothing from here on
        _store().trip("kill", f"manual: {reason}", {"manual": 1.0, "flatten": float(flatten)})
    except BreakerError as err:
        raise fail(str(err), 2) from None
    console.print("kill breaker tripped: no new entries", highlight=False)
    spec = _kill_venue(settings)
    if spec is None:
        return
    from actors.kill import kill_switch
    from actors.state import journal_path
    from actors.venues.base import VenueError
    from actors.venues.factory import make_venue

    try:
        venue = make_venue(spec)
    except VenueError as err:
        raise fail(f"cannot reach the {spec.network} venue: {err}; the kill breaker is tripped, "
                   "cancel and close on the venue by hand", 1) from None  # fmt: skip
    try:
        report = kill_switch(venue, flatten, journal_path(settings.fractal_data_dir), timeout)
    finally:
        venue.close()
    console.print(f"canceled {len(report.canceled)} order(s)"
                  + (f", sent {len(report.closing_orders)} reduce-only close(s)" if flatten else ""),
                  highlight=False)  # fmt: skip
    for p in report.problems:
        err_console.print(f"[yellow]warning:[/yellow] {p}", highlight=False)
    if not report.done:
        left = ", ".join(
            [*report.open_orders, *(f"{k} {v:g}" for k, v in report.positions.items())]
        )
        raise fail(f"the venue still shows open: {left}", 1)
    held = ", ".join(f"{k} {v:g}" for k, v in report.positions.items())
    console.print("venue confirms: no open orders"
                  + (", no positions" if flatten else (f"; positions kept: {held}" if held else "")),
                  highlight=False)  # fmt: skip
    console.print("Resume with `fractal breaker resume kill`.", highlight=False)


def _kill_venue(settings: Any) -> Any:
    """The venue to cancel on: the credentials' Hyperliquid account, or the paper venue a
    running `fractal live` serves. None (after saying why) when there is nothing to reach."""
    from cluster.settings import Network

    data_dir = settings.fractal_data_dir
    if settings.network is Network.PAPER:
        from actors.venues.paper import running_spec

        spec = running_spec(data_dir / "paper")
        if spec is not None:
            return spec
        if (data_dir / "paper" / "simulator").exists():
            raise fail("the paper venue is not running (start `fractal live` to reach it): its "
                       "saved orders and positions are untouched; the kill breaker is tripped, so "
                       "the next run places no entry", 1)  # fmt: skip
        console.print("no paper account yet: nothing to cancel", highlight=False)
        return None
    if settings.private_key is None or settings.account_address is None:
        raise fail(f"{settings.network.value} needs PRIVATE_KEY and ACCOUNT_ADDRESS to cancel "
                   "orders; the kill breaker is tripped", 2)  # fmt: skip
    from actors.venues.factory import VenueSpec

    return VenueSpec.hyperliquid(
        network=settings.network.value, account_address=settings.account_address,
        secret_key=settings.private_key,
        nonce_path=data_dir / "state" / f"{settings.network.value}_nonce.json",
    )  # fmt: skip
