"""The daily report as a self-contained HTML page (Plotly charts) and as a short Telegram text.

Why self-contained: the page is opened on a laptop or phone without network access to a CDN, so
plotly.js is embedded once (first chart). Every value shown is escaped.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import plotly.graph_objects as go

from actors.reports.daily import DailyReport, uptime_text
from actors.reports.figures import drawdown_figure, equity_figure, pnl_bars_figure
from actors.reports.fmt import duration, money, pct, signed_money

REPORTS_DIRNAME = "reports"

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:0.5rem 0 1.5rem}
td,th{border:1px solid #ccc;padding:4px 10px;text-align:left}
.pass{color:#0a0;font-weight:bold}.fail{color:#c00;font-weight:bold}.unk{color:#888}
.note{background:#fff6d6;padding:0.8rem;border:1px solid #e6c200}
"""


def report_path(data_dir: Path, rep: DailyReport) -> Path:
    """``FRACTAL_DATA_DIR/reports/daily-YYYY-MM-DD.html``."""
    return Path(data_dir) / REPORTS_DIRNAME / f"daily-{rep.day.isoformat()}.html"


def _t(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _hm(ms: int) -> str:
    return _t(ms).strftime("%H:%M")


def _table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...] | None = None) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header) if header else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table>{f'<tr>{head}</tr>' if head else ''}{body}</table>"


def _charts(rep: DailyReport) -> list[str]:
    """The same chart builders (and theme) as the dashboard."""
    figs: list[go.Figure] = []
    if rep.equity:
        figs += [equity_figure(rep.equity), drawdown_figure(rep.equity)]
    if rep.trades:
        figs.append(pnl_bars_figure(rep.trades))
    return [
        f.to_html(full_html=False, include_plotlyjs=(i == 0)) for i, f in enumerate(figs)
    ]  # fmt: skip


def _seed_rows(rep: DailyReport) -> str:
    rows = []
    for c in rep.seed:
        cls, word = ("unk", "unknown") if c.passed is None else (
            ("pass", "PASS") if c.passed else ("fail", "FAIL"))  # fmt: skip
        rows.append(
            f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.target)}</td>"
            f"<td>{html.escape(c.value)}</td><td class='{cls}'>{word}</td></tr>"
        )
    return ("<table><tr><th>metric</th><th>target</th><th>value</th><th>result</th></tr>"
            + "".join(rows) + "</table>")  # fmt: skip


def summary_rows(rep: DailyReport) -> list[tuple[str, str]]:
    worst = rep.worst_trade
    span = (rep.equity[-1][0] - rep.equity[0][0]) if len(rep.equity) > 1 else None
    return [
        ("P&L (realised, net of fees and funding)", signed_money(rep.net_pnl)),
        ("realised P&L (closed trades, net of fees)", signed_money(rep.realized_pnl)),
        ("fees paid", money(rep.fees)),
        ("funding (received + / paid -)",
         signed_money(rep.funding) if rep.funding is not None else "not recorded"),
        ("closed trades / fills", f"{len(rep.trades)} / {rep.fills}"),
        ("win rate", pct(rep.win_rate)),
        ("top strategy", f"{rep.top_strategy[0]} ({signed_money(rep.top_strategy[1])})"
         if rep.top_strategy else "n/a"),
        ("worst trade", f"{worst.symbol} {worst.side} {signed_money(worst.pnl)} "
         f"(held {duration(worst.closed_ms - worst.opened_ms)})" if worst else "n/a"),
        ("max drawdown (day)", pct(rep.max_drawdown, 2)),
        ("equity", f"{money(rep.equity[0][1])} → {money(rep.equity[-1][1])} over "
         f"{duration(span)}" if rep.equity else "not recorded"),
        ("uptime that day (wall clock)", uptime_text(rep.uptime_day)),
    ]  # fmt: skip


def render_html(rep: DailyReport) -> str:
    d = rep.day.isoformat()
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Fractal Trader — daily "
             f"report {d}</title><style>{_CSS}</style></head><body>",
             f"<h1>Fractal Trader — daily report {d} (UTC)</h1>"]  # fmt: skip
    if rep.store != "ok" or not rep.has_activity:
        parts.append(f"<p class='note'>{html.escape(rep.message)}</p>")
    if rep.store == "ok":
        parts += ["<h2>Summary</h2>", _table(summary_rows(rep))]
    parts += ["<h2>Success metrics (seed)</h2>", _seed_rows(rep)]
    if rep.store == "ok":
        parts += _charts(rep)
        parts.append("<h2>Closed trades</h2>")
        parts.append(_table([
            (rep.strategy_of.get(t.trade_key, "unknown"), t.symbol, t.side, f"{t.size:g}",
             f"{t.entry_price:,.2f}", f"{t.exit_price:,.2f}", signed_money(t.pnl),
             pct(t.return_pct, 2), duration(t.closed_ms - t.opened_ms))
            for t in rep.trades
        ], ("strategy", "symbol", "side", "size", "entry", "exit", "P&L", "return", "held"))
            if rep.trades else "<p>no trades closed that day</p>")  # fmt: skip
        parts.append("<h2>Circuit breakers</h2>")
        parts.append(_table([(b,) for b in rep.breaker_events]) if rep.breaker_events
                     else "<p>no breaker events</p>")  # fmt: skip
        parts += ["<h2>Health</h2>", _table(rep.health), "<h2>Events</h2>"]
        parts.append(_table([(_hm(e.time_ms), e.level, e.kind, e.text) for e in rep.events],
                            ("time", "level", "kind", "text"))
                     if rep.events else "<p>no events</p>")  # fmt: skip
    parts.append(f"<p><small>source: {html.escape(str(rep.data_dir))}</small></p></body></html>")
    return "\n".join(parts)


def write_report(rep: DailyReport) -> Path:
    """Write the page atomically (a reader never sees half a file); returns its path."""
    path = report_path(rep.data_dir, rep)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".html.tmp")
    tmp.write_text(render_html(rep), encoding="utf-8")
    tmp.replace(path)
    return path


def telegram_summary(rep: DailyReport) -> str:
    """A few lines for the phone: P&L, trades, win rate, drawdown, breakers, seed checks."""
    d = rep.day.isoformat()
    if rep.store != "ok" or not rep.has_activity:
        return f"Daily report {d}: {rep.message}"
    lines = [
        f"Daily report {d} (UTC)",
        f"P&L {signed_money(rep.net_pnl)} (fees {money(rep.fees)}, funding "
        f"{signed_money(rep.funding) if rep.funding is not None else 'n/a'}), "
        f"{len(rep.trades)} trade(s), win rate {pct(rep.win_rate)}",
        f"max drawdown {pct(rep.max_drawdown, 2)}",
    ]
    if rep.top_strategy:
        lines.append(f"top: {rep.top_strategy[0]} {signed_money(rep.top_strategy[1])}")
    if rep.worst_trade:
        w = rep.worst_trade
        lines.append(f"worst: {w.symbol} {w.side} {signed_money(w.pnl)}")
    if rep.breaker_events:
        lines.append(f"breaker events: {len(rep.breaker_events)}")
    checks = ", ".join(
        f"{c.name.split(' (')[0]} {'?' if c.passed is None else ('ok' if c.passed else 'FAIL')}"
        for c in rep.seed
    )
    lines.append(f"seed: {checks}")
    return "\n".join(lines)
