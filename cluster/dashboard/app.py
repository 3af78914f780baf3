"""The monitoring dashboard page (run by ``fractal dashboard``; Streamlit executes this file).

Thin on purpose: every number comes from :func:`actors.reports.views.load_live` (the journal
opened read-only) and every chart from :mod:`actors.reports.figures`. The page asks for
``DASHBOARD_TOKEN`` first (constant-time comparison, the token is never shown) and shows no
data before it is given. Any failure is a one-line message, never a traceback.
"""

from __future__ import annotations

import hmac
from pathlib import Path

import streamlit as st

from actors.reports import figures as fig
from actors.reports import views
from actors.reports.fmt import label, metric
from cluster.dashboard import backtests_view
from cluster.dashboard.results import SweepTable, find_sweeps, load_sweep
from cluster.settings import ConfigError, load_settings

TITLE = "Fractal Trader — monitor"


def _gate(token: str) -> bool:
    """True once the right token was typed in this browser session."""
    if st.session_state.get("authenticated"):
        return True
    st.info("This dashboard shows a trading account: enter the access token (DASHBOARD_TOKEN).")
    entered = st.text_input("Access token", type="password", key="token_input")
    if entered:
        if hmac.compare_digest(entered.encode(), token.encode()):
            st.session_state["authenticated"] = True
            del st.session_state["token_input"]  # not kept in the session once used
            st.rerun()
        st.error("Wrong token.")
    return False


def _system(view: views.LiveView) -> None:
    """Is the live system up: the last heartbeat judged now, each actor, each symbol's feed."""
    st.subheader("System health")
    h = view.system
    if h is not None:
        show = st.success if h.ok else st.warning if h.status in ("stopped", "none") else st.error
        show(h.summary)
    left, right = st.columns(2)
    with left:
        rows = views.actors_table(view)
        if rows:
            st.dataframe(rows, hide_index=True)
        else:
            st.write("no heartbeat recorded yet")
    with right:
        rows = views.feeds_table(view)
        if rows:
            st.dataframe(rows, hide_index=True)
        st.dataframe([{"item": k, "state": v} for k, v in view.health], hide_index=True)


def _monitor(view: views.LiveView) -> None:
    cols = st.columns(4)
    for i, (name, value) in enumerate(views.kpis(view)):
        cols[i % 4].metric(name, value)
    st.subheader("Seed success metrics (30 days)")
    st.dataframe(views.seed_table(view.seed), hide_index=True)
    left, right = st.columns(2)
    with left:
        st.subheader("Circuit breakers")
        st.dataframe(view.breakers, hide_index=True)
    with right:
        st.subheader("Reconciliation")
        st.write(views.reconciliation_text(view))
    _system(view)
    st.subheader("Open positions (venue against journal)")
    rows = views.positions_table(view)
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.write("no open positions")
    st.subheader("Open orders and stops")
    rows = views.orders_table(view)
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.write("no open orders")
    st.subheader(f"Last {views.SIGNALS_SHOWN} signals")
    rows = views.signals_table(view)
    if rows:
        st.dataframe(rows, hide_index=True)
    else:
        st.write("no signals yet")


def _performance(view: views.LiveView) -> None:
    if not view.trades and not view.equity:
        st.write("no closed trades and no equity recorded yet")
        return
    if view.equity:
        st.plotly_chart(fig.equity_figure(view.equity), key="equity")
        st.plotly_chart(fig.drawdown_figure(view.equity), key="drawdown")
    if view.trades:
        st.plotly_chart(fig.cumulative_pnl_figure(view.trades), key="cum_pnl")
        st.plotly_chart(fig.win_loss_histogram([t.pnl for t in view.trades],
                                               "Wins and losses per trade ($)"), key="hist")  # fmt: skip
        by = fig.pnl_by_strategy(view.trades, view.strategy_of)
        st.plotly_chart(fig.strategy_comparison(by), key="strategies")
        st.subheader("Closed trades (click a column to sort)")
        st.dataframe(views.trades_table(view), hide_index=True)


def _research(data_dir: Path) -> None:
    found = find_sweeps(data_dir)
    if not found:
        st.write(f"no sweep results under {data_dir / 'sweeps'} (run `fractal sweep`)")
        return
    names = [p.parent.name for p in found]
    pick = st.selectbox("Sweep", names, index=0)
    table: SweepTable = load_sweep(found[names.index(pick)])
    if table.error:
        st.warning(table.error)
        return
    df = table.rows
    st.caption(f"{len(df)} variants · {table.path}")
    if table.best is not None:
        cols = st.columns(4)
        for i, k in enumerate(("total_return", "sharpe", "max_drawdown", "trades")):
            if k in table.best:
                cols[i].metric(f"Best: {label(k)}", metric(k, table.best[k]))
    st.plotly_chart(fig.sweep_comparison(df), key="sweep_top")
    if {"max_drawdown", "total_return"} <= set(df.columns):
        st.plotly_chart(fig.sweep_risk_return(df), key="sweep_scatter")
        st.plotly_chart(fig.win_loss_histogram((df["total_return"].astype(float) * 100).tolist(),
                                               "Variants: total return (%)"), key="sweep_hist")  # fmt: skip
    if table.best_returns is not None:
        eq, dd = fig.period_curve_figures(fig.compounded_equity(table.best_returns), "best variant")
        st.plotly_chart(eq, key="sweep_eq")
        st.plotly_chart(dd, key="sweep_dd")
    st.dataframe(fig.sweep_top(df, 50), hide_index=True)


def _content(data_dir: Path) -> None:
    """Re-run every refresh period (a fragment); any failure is one line, never a traceback."""
    try:
        _sections(data_dir)
    except Exception as err:
        st.error(f"the dashboard could not render: {type(err).__name__}: {err}")


def _sections(data_dir: Path) -> None:
    view = views.load_live(data_dir)
    if view.store != "ok":
        (st.warning if view.store == "missing" else st.error)(view.message)
    monitor, perf, research, runs = st.tabs(
        ["Monitor", "Performance", "Research results", "Backtests"]
    )
    with monitor:
        if view.store == "ok":
            _monitor(view)
    with perf:
        if view.store == "ok":
            _performance(view)
    with research:
        _research(data_dir)
    with runs:
        backtests_view.render(data_dir)


def main() -> None:
    st.set_page_config(page_title=TITLE, layout="wide")
    st.title(TITLE)
    try:
        settings = load_settings()
    except ConfigError as err:
        st.error(f"configuration error: {err}")
        return
    if settings.dashboard_token is None:
        st.error("DASHBOARD_TOKEN is not set: the dashboard stays closed.")
        return
    if not _gate(settings.dashboard_token.get_secret_value()):
        return
    refresh = settings.dashboard_refresh_seconds
    st.caption(f"data: {settings.fractal_data_dir} · refreshes every {refresh} s · read-only")
    st.fragment(run_every=refresh)(_content)(settings.fractal_data_dir)


main()
