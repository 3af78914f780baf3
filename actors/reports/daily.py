"""The daily report's figures, computed from the journal opened read-only (works while live runs).

Why from the journal: it is the only truth kept locally (fills, equity, events); every figure
here is derived from it with the same ledger the live system uses (``actors.state.ledger``), so
the report cannot disagree with ``fractal status``. Times are the venue's clock (``time_ms`` of
fills and equity; for events their own ``time_ms``, else when they were recorded), so a paper
replay's day is the simulated day. A day is ``[00:00, 24:00)`` UTC.
"""

from __future__ import annotations

import json
import math
import sqlite3
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

from actors.messages import Fill
from actors.state import journal_path
from actors.state.health import read_health, when
from actors.state.ledger import ClosedTrade, derive
from actors.state.ledger import metrics as trade_metrics
from actors.state.schema import JournalError, check_version, connect, integrity_problem
from actors.state.uptime import Uptime, read_runs, uptime

DAY_MS = 86_400_000
SEED_WINDOW_DAYS = 30
BREAKER_LOG = "circuit_breaker_events.log"
BREAKER_WORDS = ("breaker", "kill", "halt", "resume")
# the seed's success criteria (issue #19): uptime > 99 % over 30 days, max drawdown < 15 %,
# Sharpe > 1, no critical errors
UPTIME_MIN = 0.99
MAX_DRAWDOWN_MAX = 0.15
SHARPE_MIN = 1.0


@dataclass(frozen=True)
class EventRow:
    time_ms: int
    level: str
    kind: str
    source: str
    text: str


@dataclass(frozen=True)
class SeedCheck:
    """One success criterion: ``passed`` is None when the journal cannot tell (never a guess)."""

    name: str
    target: str
    value: str
    passed: bool | None


@dataclass
class DailyReport:
    """Everything the HTML page and the Telegram summary show for one UTC day."""

    day: date
    data_dir: Path
    store: str  # "ok" | "missing"
    message: str = ""
    fills: int = 0
    trades: list[ClosedTrade] = field(default_factory=list)  # closed that day, oldest first
    strategy_of: dict[str, str] = field(default_factory=dict)  # trade_key -> strategy
    realized_pnl: float = 0.0  # closed trades, net of their fees
    fees: float = 0.0  # every fee paid on fills that day
    funding: float | None = None  # settled that day (None: a journal without a funding table)
    win_rate: float | None = None
    top_strategy: tuple[str, float] | None = None
    worst_trade: ClosedTrade | None = None
    equity: list[tuple[int, float]] = field(default_factory=list)  # that day
    max_drawdown: float | None = None  # fraction of the running peak, that day
    events: list[EventRow] = field(default_factory=list)
    breaker_events: list[str] = field(default_factory=list)
    critical_events: int = 0
    uptime: Uptime | None = None  # the 30 days ending with the day (wall clock, runs)
    uptime_day: Uptime | None = None  # that day alone
    health: list[tuple[str, str]] = field(default_factory=list)
    seed: list[SeedCheck] = field(default_factory=list)

    @property
    def has_activity(self) -> bool:
        return bool(self.fills or self.trades or self.equity or self.events)

    @property
    def net_pnl(self) -> float:
        """Realised P&L net of fees, plus the funding received (minus paid) that day."""
        return self.realized_pnl + (self.funding or 0.0)

    @property
    def strategy_pnl(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for t in self.trades:
            s = self.strategy_of.get(t.trade_key, "unknown")
            out[s] = out.get(s, 0.0) + t.pnl
        return out


def day_bounds(day: date) -> tuple[int, int]:
    """``[start, end)`` of a UTC day in epoch milliseconds."""
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return start, start + DAY_MS


def max_drawdown(values: list[float]) -> float | None:
    """Largest fall from a running peak, as a fraction of that peak (0 for a rising curve)."""
    if not values:
        return None
    peak, worst = values[0], 0.0
    for v in values:
        peak = max(peak, v)
        if peak > 0:
            worst = max(worst, (peak - v) / peak)
    return worst


def drawdown_curve(values: list[float]) -> list[float]:
    """Drawdown at each point (fraction below the running peak, <= 0)."""
    out, peak = [], -math.inf
    for v in values:
        peak = max(peak, v)
        out.append((v - peak) / peak if peak > 0 else 0.0)
    return out


def _wall_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def build(data_dir: Path, day: date, now_ms: int | None = None) -> DailyReport:
    """The report for ``day``. A missing store is a report that says so, not an error; a
    journal that cannot be read raises :class:`JournalError` (naming the file). ``now_ms``
    (wall clock) bounds the uptime windows: a day still running counts up to now."""
    data_dir = Path(data_dir)
    rep = DailyReport(day=day, data_dir=data_dir, store="missing")
    path = journal_path(data_dir)
    if not path.exists():
        rep.message = f"no state store at {path}: nothing has run yet, so no trades and no data"
        rep.seed = _seed_checks(rep, [], [], 0)
        return rep
    conn = connect(path, readonly=True)
    try:
        if check_version(conn, path) == 0:
            raise JournalError(f"{path}: not a Fractal Trader journal (no schema)")
        conn.execute("BEGIN")  # one consistent snapshot while the live process writes
        _fill(rep, conn, path, _wall_ms() if now_ms is None else now_ms)
        conn.execute("COMMIT")
    except sqlite3.DatabaseError as err:
        raise JournalError(f"{path}: unreadable journal ({err})") from None
    finally:
        conn.close()
    return rep


def _fill(rep: DailyReport, conn: sqlite3.Connection, path: Path, now_ms: int) -> None:
    start, end = day_bounds(rep.day)
    win_start = start - (SEED_WINDOW_DAYS - 1) * DAY_MS
    rep.store = "ok"
    fills = [
        Fill.model_validate_json(r[0])
        for r in conn.execute("SELECT payload FROM fills WHERE time_ms < ?", (end,))
    ]
    day_fills = [f for f in fills if f.time_ms >= start]
    rep.fills = len(day_fills)
    rep.fees = sum(f.fee for f in day_fills)
    if conn.execute("SELECT 1 FROM sqlite_master WHERE name='funding'").fetchone():
        rep.funding = float(conn.execute(
            "SELECT COALESCE(SUM(amount), 0) FROM funding WHERE time_ms >= ? AND time_ms < ?",
            (start, end)).fetchone()[0])  # fmt: skip
    _, trades = derive(fills)  # all history up to the day's end: trades opened earlier count
    rep.trades = [t for t in trades if start <= t.closed_ms < end]
    rep.strategy_of = _strategies(conn, rep.trades, fills)
    rep.realized_pnl = sum(t.pnl for t in rep.trades)
    if rep.trades:
        rep.win_rate = sum(t.pnl > 0 for t in rep.trades) / len(rep.trades)
        rep.worst_trade = min(rep.trades, key=lambda t: (t.pnl, t.closed_ms))
        best = max(rep.strategy_pnl.items(), key=lambda kv: (kv[1], kv[0]))
        rep.top_strategy = best
    equity = [
        (int(t), float(e))
        for t, e in conn.execute(
            "SELECT time_ms, equity FROM equity WHERE time_ms >= ? AND time_ms < ? "
            "ORDER BY time_ms, id", (win_start, end),
        )
    ]  # fmt: skip
    rep.equity = [(t, e) for t, e in equity if t >= start]
    rep.max_drawdown = max_drawdown([e for _, e in rep.equity])
    window_events = [ev for ev in _events(conn) if win_start <= ev.time_ms < end]
    rep.events = [ev for ev in window_events if ev.time_ms >= start]
    rep.critical_events = sum(ev.level == "CRITICAL" for ev in rep.events)
    rep.breaker_events = [
        f"{_hhmm(ev.time_ms)} [{ev.level}] {ev.kind}: {ev.text}"
        for ev in rep.events
        if any(w in ev.kind.lower() for w in BREAKER_WORDS)
    ] + _breaker_log_lines(rep.data_dir, rep.day)
    problem = integrity_problem(conn)
    rep.health = [("journal integrity", "ok" if problem is None else f"DAMAGED: {problem}")]
    recon = conn.execute(
        "SELECT clean, n_differences FROM reconciliations WHERE time_ms >= ? AND time_ms < ?",
        (start, end),
    ).fetchall()
    dirty = sum(1 for clean, _ in recon if not clean)
    rep.health.append(("reconciliations", f"{len(recon)} run, {dirty} with differences"))
    rep.health.append(
        (
            "warnings / critical events",
            f"{sum(e.level == 'WARNING' for e in rep.events)} / {rep.critical_events}",
        )
    )
    window_trades = [t for t in trades if win_start <= t.closed_ms < end]
    n_critical_30d = sum(ev.level == "CRITICAL" for ev in window_events)
    _uptime(rep, conn, now_ms)
    rep.seed = _seed_checks(rep, window_trades, [e for _, e in equity], n_critical_30d)
    if not rep.has_activity:
        rep.message = f"no trades and no data on {rep.day.isoformat()} in {path}"


def _uptime(rep: DailyReport, conn: sqlite3.Connection, now_ms: int) -> None:
    """Uptime of the day and of the 30 days ending with it (wall clock: was the process up),
    the runs behind them, the runs that replayed this day (venue clock) and the system now."""
    start, end = day_bounds(rep.day)
    runs = read_runs(conn)
    now = read_health(conn, now_ms)
    limit = now.stale_ms  # the newest heartbeat's period: a fresh run counts up to now
    rep.uptime = uptime(runs, end, now_ms, limit, SEED_WINDOW_DAYS)
    rep.uptime_day = uptime(runs, end, now_ms, limit, 1)
    rep.health.append(("uptime that day (wall clock)", uptime_text(rep.uptime_day)))
    live = [r for r in runs if r["start_ms"] < end and (r["end_ms"] or r["last_seen_ms"]
                                                        or r["start_ms"]) >= start]  # fmt: skip
    rep.health.append(("live runs that day", "; ".join(_run_text(r) for r in live) or "none"))
    replayed = [r for r in runs if r["venue_first_ms"] is not None and r["venue_last_ms"]
                is not None and r["venue_first_ms"] < end and r["venue_last_ms"] >= start]  # fmt: skip
    if replayed:
        rep.health.append(("runs that traded this day (venue clock)", "; ".join(
            f"#{r['id']} {r['network']} from {when(r['venue_first_ms'])} to "
            f"{when(r['venue_last_ms'])}" for r in replayed)))  # fmt: skip
    rep.health.append(("live system now", now.summary))


def uptime_text(u: Uptime | None) -> str:
    """``99.52% (29 d 20 h up of 30 d)`` — the figure and the evidence behind it."""
    from actors.reports.fmt import duration, pct

    if u is None or u.fraction is None:
        return "no live run recorded before the end of that period"
    judged = "" if u.span_ms >= u.window_ms else f"; only {duration(u.span_ms)} of history"
    return (f"{pct(u.fraction, 2)} ({duration(u.up_ms)} up of {duration(u.span_ms)}, "
            f"{u.runs} run(s){judged})")  # fmt: skip


def _run_text(r: dict[str, object]) -> str:
    if r["end_ms"] is not None:
        how = f"to {when(r['end_ms'])} ({'clean stop' if r['clean'] else 'error'})"  # type: ignore[arg-type]
    else:
        how = f"no end recorded, last heartbeat {when(r['last_seen_ms'])}"  # type: ignore[arg-type]
    return f"#{r['id']} {r['network']} from {when(r['start_ms'])} {how}"  # type: ignore[arg-type]


def _strategies(
    conn: sqlite3.Connection, trades: list[ClosedTrade], fills: list[Fill]
) -> dict[str, str]:
    """trade_key -> strategy, through the first fill's cloid -> intent -> signal."""
    by_tid = {f.trade_id: f for f in fills}
    out: dict[str, str] = {}
    for t in trades:
        first = by_tid.get(t.trade_key.split(":", 1)[1])
        row = None
        if first is not None and first.cloid:
            row = conn.execute(
                "SELECT s.strategy FROM intents i JOIN signals s ON s.signal_id = i.signal_id "
                "WHERE i.cloid = ?", (first.cloid,),
            ).fetchone()  # fmt: skip
        out[t.trade_key] = str(row[0]) if row else "unknown"
    return out


def _events(conn: sqlite3.Connection) -> list[EventRow]:
    out = []
    for source, level, kind, payload, recorded in conn.execute(
        "SELECT source, level, kind, payload, recorded_ms FROM events ORDER BY id"
    ):
        data = json.loads(payload)
        t = int(data.get("time_ms") or 0) or int(recorded)
        out.append(EventRow(t, str(level), str(kind), str(source), str(data.get("text", ""))))
    out.sort(key=lambda e: e.time_ms)
    return out


def _breaker_log_lines(data_dir: Path, day: date) -> list[str]:
    """Lines of ``circuit_breaker_events.log`` that mention the day (ISO date)."""
    path = data_dir / BREAKER_LOG
    if not path.exists():
        return []
    iso = day.isoformat()
    with path.open(encoding="utf-8", errors="replace") as fh:
        return [line.rstrip("\n") for line in fh if iso in line]


def _hhmm(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S")


def uptime_check(u: Uptime | None) -> SeedCheck:
    """Judged on a full 30-day window of evidence; failed early once the downtime exceeds what
    the window allows; unknown (with the figure so far) before that."""
    return SeedCheck("uptime (30 days, wall clock)", "> 99%", uptime_text(u),
                     None if u is None else u.passed(UPTIME_MIN))  # fmt: skip


def _seed_checks(
    rep: DailyReport, trades: list[ClosedTrade], equity: list[float], n_critical: int
) -> list[SeedCheck]:
    """The seed's success metrics over the 30 days ending on the report's day."""
    from actors.reports.fmt import num, pct

    dd = max_drawdown(equity)
    m = trade_metrics(trades)
    sharpe = float(m["sharpe"]) if len(trades) >= 2 else None
    if sharpe is not None and not math.isfinite(sharpe):
        sharpe = None
    no_data = rep.store != "ok"
    return [
        uptime_check(rep.uptime),
        SeedCheck("max drawdown (30 days)", "< 15%",
                  pct(dd) if dd is not None else "no equity recorded",
                  None if dd is None else dd < MAX_DRAWDOWN_MAX),
        SeedCheck("Sharpe, per trade (30 days)", "> 1",
                  num(sharpe) if sharpe is not None else f"{len(trades)} trade(s): too few or no spread",
                  None if sharpe is None else sharpe > SHARPE_MIN),
        SeedCheck("critical errors (30 days)", "none",
                  "no journal" if no_data else str(n_critical),
                  None if no_data else n_critical == 0),
    ]  # fmt: skip
