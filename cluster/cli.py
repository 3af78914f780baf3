"""`fractal` command line: one entry point, one sub-command module per area.

Heavy imports (numba, ray, pandas) happen inside commands so `fractal --help` stays fast.
"""

from __future__ import annotations

import typer

from cluster import (
    cli_backtest,
    cli_breaker,
    cli_dashboard,
    cli_data,
    cli_live,
    cli_mlflow,
    cli_preflight,
    cli_report,
    cli_restore,
    cli_run,
    cli_sim,
    cli_smc,
    cli_status,
    cli_sweep,
    numba_cache,
)

app = typer.Typer(
    name="fractal",
    help="Fractal Trader — Smart Money Concepts for crypto perpetuals.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(cli_data.app, name="data", help="Market data store: import, list, show, fetch.")
app.command("smc")(cli_smc.smc)
app.command("backtest")(cli_backtest.backtest)
app.command("sweep")(cli_sweep.sweep)
app.command("mlflow-ui")(cli_mlflow.mlflow_ui)
app.command("sim")(cli_sim.sim)
app.command("run")(cli_run.run)
app.command("live")(cli_live.live)
app.command("status")(cli_status.status)
app.command("report")(cli_report.report)
app.command("dashboard")(cli_dashboard.dashboard)
app.add_typer(
    cli_breaker.app, name="breaker", help="Circuit breakers: status, trip, resume, confirm."
)
app.command("kill")(cli_breaker.kill)
app.command("preflight")(cli_preflight.preflight)
app.command("backup")(cli_restore.backup)
app.command("restore")(cli_restore.restore)


def main() -> None:
    """Console-script entry point; points numba at the shared, source-keyed cache first
    (``cluster.numba_cache``: the commands import numba lazily, after this)."""
    numba_cache.configure()
    app()


if __name__ == "__main__":
    main()
