"""The dashboard's Backtests tab: every run `fractal backtest` saved under
``FRACTAL_DATA_DIR/backtests`` (read-only), compared side by side, and one run in detail.

A damaged run is a warning naming it; the other runs still show."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from actors.reports import figures as fig
from actors.reports.fmt import label, metric
from research.backtest.store import find_runs, list_runs, load_run, runs_root, thin_curve

SHOWN = ("total_return", "sharpe", "max_drawdown", "trade_count", "win_rate", "fees_paid")


def render(data_dir: Path) -> None:
    table, problems = list_runs(data_dir)
    for problem in problems:
        st.warning(problem)
    if table.empty:
        st.write(f"no saved backtests under {runs_root(data_dir)} (run `fractal backtest`)")
        return
    st.caption(f"{len(table)} runs · {runs_root(data_dir)}")
    st.plotly_chart(fig.runs_comparison(table), key="runs_top")
    st.dataframe(table, hide_index=True)
    ids = [p.name for p in find_runs(data_dir) if p.name in set(table["run_id"])]
    pick = st.selectbox("Backtest run", ids, index=0)
    try:
        run = load_run(runs_root(data_dir) / pick)
    except ValueError as err:
        st.warning(str(err))
        return
    cols = st.columns(len(SHOWN))
    for i, k in enumerate(SHOWN):
        cols[i].metric(f"Run: {label(k)}", metric(k, run.info.get(k)))
    if run.equity:
        points = thin_curve(run.equity)
        st.plotly_chart(fig.equity_figure(points), key="run_equity")
        st.plotly_chart(fig.drawdown_figure(points), key="run_drawdown")
    if len(run.trades):
        st.plotly_chart(fig.win_loss_histogram(run.trades["pnl"].astype(float).tolist(),
                                               "Wins and losses per trade ($)"), key="run_hist")  # fmt: skip
        st.subheader("Trades (click a column to sort)")
        st.dataframe(run.trades, hide_index=True)
