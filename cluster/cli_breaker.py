"""`fractal breaker status|trip|resume|confirm` and `fractal kill` — the operator's circuit breakers.

Wiring only: the transitions are :mod:`strategies.breakers`, their storage
:mod:`actors.state.breakers`. Resuming takes two steps (``resume NAME`` prints a one-time code,
``confirm CODE`` re-arms) so that no single mistyped command re-enables trading. The live system
re-reads the states before every risk decision, so a trip here halts new entries at once.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Annotated

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
    reason: Annotated[str, typer.Option(help="Why (logged).")] = "kill switch",
) -> None:
    """Trip the `kill` breaker: the running live system takes no new entries (stops stay).

    Not yet done: cancelling resting orders and reduce-only closing positions from this command
    (``--flatten``); close positions on the venue by hand after a kill.
    """
    from strategies.breakers import BreakerError

    try:
        s = _store().trip("kill", f"manual: {reason}", {"manual": 1.0})
    except BreakerError as err:
        raise fail(str(err), 2) from None
    console.print(f"kill switch engaged ({s.state}); no new entries. Resume with "
                  "`fractal breaker resume kill`.", highlight=False)  # fmt: skip
