"""Live pipeline benchmark on the loopback simulator (paper venue, real actors, real journal).

Run: ``.venv/bin/python tests/bench/bench_live.py [--signals N] [--replay-bars N] [--repeat K]``
(``make bench``). Prints one JSON object; exits 1 if a stated check fails. Measured in one run,
with the anchors from the same run and the load average beside every phase (two cores shared
with other work make absolute figures noisy: compare the ratios, and repeat).

* ``bar_to_accept``: a closed bar handed to a StrategyRunner (the DataFeed's send) -> the SMC
  stream and strategy kernel -> Signal -> PortfolioRisk (rules, sizing, signal journaled) ->
  Executor (intent journaled with an fsync *before* the venue call) -> the signed order
  accepted by the simulator. Timed by hop timestamps (``time.monotonic_ns``) carried with the
  bar, the signal and the intent (:data:`actors.messages.Trace`), so every hop is reported too.
  Bars are the shipped 15m candles of 12 symbols, sent one bar close at a time (all 12 symbols
  at once, as on the venue), after a warm-up; the next close is sent once the last signal's
  entry is acknowledged and the Executor's account read for the close is done (live closes are
  a timeframe apart). The bar times are moved by whole bars so that every close is newer than
  the account view, as live: each decision needs a view read after its close. As the DataFeed
  does, the first bar of each close is followed by ``Executor.bar_closed`` (that read, beside
  the runners); ``--no-bar-close-read`` leaves it out, so PortfolioRisk asks for the read itself
  (the A/B); ``--ideal-view`` drops the wait for the view altogether (the upper bound of any
  faster view). ``cpu``: the machine's busy CPU per live close and each role's share (the
  budget the hops' latency comes out of). ``first/later_signal_of_a_close`` (with their hops): when several symbols signal on one close their
  entries queue in the Executor one after the other, so the 2nd, 3rd... are reported apart.
  ``--close-gap-ms G`` sends the live closes at least G ms apart instead (live closes are a
  timeframe apart and the actors sleep in between; ``probe_idle_wake.py`` for why it matters). The strategy is the default one (``liquidity_sweep``) with its real
  signals; only each signal's price is moved far from the simulator's market
  (:class:`FarLimitRunner`) so that every signal makes exactly one accepted resting order and
  no fills or stops (whose venue calls are not part of this path) interleave. The benchmark's
  risk rules drop one-position-per-symbol and max-positions so every signal is approved.
* ``anchors`` (measured before and after the latency phase: the simulator's place time may grow
  with the orders resting on it): a no-op Ray
  actor call, and ``venue.place`` of the same kind of order straight from this process (no
  actors, no journal). ``ratio_p50/p99_vs_direct_place`` divide by the mean of the two.
* ``throughput``: the same 12 runners, risk and executor, fed ``--replay-bars`` 5m bars in all
  (``replay_bars / 12`` per symbol) as fast as Ray takes them: bars/s and messages/s (bars +
  signals; at most ``QUEUED_BAR_CLOSES`` queued per runner, as the runners and PortfolioRisk
  themselves wait when signals outrun the venue); the resident memory (RSS) of every actor
  process sampled over the replay. Check:
  after the warm-up (the first quarter of the replay) the total may grow by at most
  ``--rss-tolerance`` (fraction) — else the benchmark fails.
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
from cluster.cli_common import reserved_stdout  # noqa: E402
from tests.bench.harness import start_local_ray  # noqa: E402

SHARED = Path(os.environ.get("SHARED_DATA_DIR", ROOT.parent / "shared" / "data"))
MARKET = SHARED / "market"
SYMBOLS = ["BTC", "ETH", "SOL", "HYPE", "XRP", "DOGE", "SUI", "AVAX", "LINK", "ADA", "BNB", "LTC"]
# the far limits rest until their TTL (venue ms): a few seconds keeps about as many entries in
# flight as a live account has (one per symbol), not every order of the run (1,200 resting
# entries made every portfolio view, acknowledgement and risk decision O(run length))
ENTRY_TTL_MS = 2_000
HOPS = ("sent", "runner_in", "runner_out", "risk_in", "risk_fresh", "risk_out", "executor_in",
        "executor_locked", "journaled", "venue_answered")  # fmt: skip
STRATEGY = "liquidity_sweep"
TF_MS = 900_000  # the 15m bars of the latency phase
QUEUED_BAR_CLOSES = 32  # replay: bar closes queued per runner at most (a live feed queues 1)


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def summary(xs: list[float]) -> dict[str, float]:
    """p50/p99/mean/max in ms of durations given in seconds."""
    return {"p50_ms": pct(xs, 0.5) * 1e3, "p99_ms": pct(xs, 0.99) * 1e3,
            "mean_ms": statistics.fmean(xs) * 1e3, "max_ms": max(xs) * 1e3, "n": len(xs)}  # fmt: skip


def load_bars(symbol: str, timeframe: str, n: int) -> list[tuple[float, ...]]:
    import pandas as pd

    path = MARKET / "hyperliquid_perp_2025" / f"hyperliquid_{symbol}USDC_{timeframe}.csv.gz"
    df = pd.read_csv(path)
    return [tuple(r) for r in df.tail(n).itertuples(index=False)]


def make_far_limit_runner() -> Any:
    """A StrategyRunner whose signals are moved far from the simulator's market (defined here,
    pickled by value into the actor process: production code has no such switch)."""
    from actors.messages import Signal
    from actors.runner import StrategyRunner

    class FarLimitRunner(StrategyRunner):
        def set_far(self, mids: dict[str, float]) -> None:
            self.far_mid = mids[self.symbol]

        def _signal(self, bar: Any, row: dict[str, Any]) -> Signal:
            real = super()._signal(bar, row)
            mid = self.far_mid
            buy = real.side == "buy"
            price = mid * (0.6 if buy else 1.6)
            stop = price * (0.9 if buy else 1.1)
            return real.model_copy(update={"kind": "limit", "price": price, "stop": stop,
                                           "target": None})  # fmt: skip

    return FarLimitRunner


def start_far_runners(graph: Graph, venue: Any, timeframe: str, per_actor: int) -> dict[str, Any]:
    """Each symbol's (far-limit) runner actor in the layout ``fractal live`` uses
    (``actors.system.start_runners``: ``per_actor`` runners per actor, 0 = all in one)."""
    import ray

    from actors.placement import Placement
    from actors.runner_group import RunnerGroup

    far_runner = make_far_limit_runner()

    class FarLimitGroup(RunnerGroup):
        runner_class = far_runner

        def set_far(self, mids: dict[str, float]) -> None:
            for r in self.runners.values():
                r.set_far(mids)

    out: dict[str, Any] = {}
    for group in Placement(runners_per_actor=per_actor).runner_groups(SYMBOLS):
        if len(group) == 1:
            h = ray.remote(far_runner).options(num_cpus=0).remote(
                group[0], timeframe, STRATEGY, {}, None, graph.risk)  # fmt: skip
        else:
            h = ray.remote(FarLimitGroup).options(num_cpus=0).remote(
                [(s, STRATEGY, {}) for s in group], timeframe, None, graph.risk)  # fmt: skip
        out.update((s, h) for s in group)
    mids = {s: float(venue._mid(s)) for s in SYMBOLS}
    ray.get([h.set_far.remote(mids) for h in actors_of(out)])
    return out


def actors_of(runners: dict[str, Any]) -> list[Any]:
    """The distinct runner actors (a RunnerGroup serves several symbols)."""
    return list(dict.fromkeys(runners.values()))


def by_actor(runners: dict[str, Any], bars: list[Any]) -> dict[Any, list[Any]]:
    """A publication's bars per runner actor, as the DataFeed sends them (one message each)."""
    out: dict[Any, list[Any]] = {}
    for bar in bars:
        out.setdefault(runners[bar.symbol], []).append(bar)
    return out


def make_ideal_view_risk() -> Any:
    """``--ideal-view``: a PortfolioRisk whose decisions never wait for an account view read
    after the close (the view it has is taken as fresh). Not safe to trade with — it is the
    upper bound any faster view (push-based user events, ...) could reach on this machine."""
    from actors.risk import PortfolioRisk

    class IdealViewRisk(PortfolioRisk):
        def _freshen(self, bar_close_ms: int) -> None:
            return None

    return IdealViewRisk


class Graph:
    """Alerter, StateKeeper, Executor, PortfolioRisk on a paper venue (the live graph minus the
    DataFeed, whose part this driver plays)."""

    def __init__(self, px: Any, data_dir: Path, ideal_view: bool = False) -> None:
        import ray

        from actors.alerter import Alerter
        from actors.executor import MAX_CONCURRENCY as EXECUTOR_CONCURRENCY
        from actors.executor import Executor
        from actors.keeper import StateKeeper
        from actors.risk import MAX_CONCURRENCY, PortfolioRisk
        from strategies import risk as rules
        from strategies.risk import Limits

        opts: dict[str, Any] = {"num_cpus": 0}
        self.alerter = ray.remote(Alerter).options(**opts).remote()
        self.keeper = (
            ray.remote(StateKeeper).options(**opts, max_concurrency=4).remote(data_dir, 3600.0)
        )
        self.executor = ray.remote(Executor).options(**opts, max_concurrency=EXECUTOR_CONCURRENCY).remote(
            px.spec, self.keeper, self.alerter, None, None, False, None, 0.5, 3600.0,
            one_entry_per_symbol=False, entry_ttl_ms=ENTRY_TTL_MS,
        )  # fmt: skip
        bench_rules = tuple(r for r in rules.DEFAULT_RULES
                            if r not in (rules.one_position_per_symbol, rules.max_open_positions))  # fmt: skip
        # threaded as actors.system creates it (the signals of one close wait for one view)
        risk_cls = make_ideal_view_risk() if ideal_view else PortfolioRisk
        self.risk = ray.remote(risk_cls).options(**opts, max_concurrency=MAX_CONCURRENCY).remote(
            Limits(risk_fraction=0.00001, max_leverage=1.0), self.executor, self.keeper,
            self.alerter, bench_rules,
        )  # fmt: skip
        ray.get(self.executor.attach.remote(self.risk))
        self.handles: list[Any] = [self.alerter, self.keeper, self.executor, self.risk]

    def in_flight(self) -> int:
        import ray

        return int(ray.get(self.risk.__ray_call__.remote(lambda self: len(self._in_flight))))

    def kill(self) -> None:
        import ray

        for h in self.handles:
            ray.kill(h)


def anchors(graph: Graph, venue: Any, tag: str) -> dict[str, Any]:
    """A no-op actor call and a direct ``venue.place`` of a far resting limit."""
    import ray

    from actors.messages import make_cloid
    from actors.venues.base import OrderRequest

    noop = []
    for _ in range(200):
        t0 = time.perf_counter()
        ray.get(graph.alerter.count.remote("none"))
        noop.append(time.perf_counter() - t0)
    mid = float(venue._mid("BTC"))
    direct = []
    for i in range(100):
        req = OrderRequest(cloid=make_cloid("bench", "BTC", f"direct-{tag}-{i}", "entry"),
                           symbol="BTC", side="buy", size=0.001, kind="limit",
                           price=round(mid * 0.6))  # fmt: skip
        t0 = time.perf_counter()
        venue.place(req)
        direct.append(time.perf_counter() - t0)
    return {"ray_noop_call": summary(noop), "direct_place": summary(direct),
            "load_avg_1m": os.getloadavg()[0]}  # fmt: skip


def latency(
    graph: Graph,
    venue: Any,
    min_signals: int,
    max_ticks: int,
    announce: bool = True,
    close_gap_s: float = 0.0,
    per_actor: int = 1,
) -> dict[str, Any]:
    """Bar closes of 12 symbols at once, through the actors, until ``min_signals`` signals."""
    import ray

    from actors.messages import Bar

    runners = start_far_runners(graph, venue, "15m", per_actor)
    series = {s: load_bars(s, "15m", max_ticks) for s in SYMBOLS}
    n = min(len(b) for b in series.values())
    warm = 300  # back-filled bars first: the detectors warm up, no signals
    # bar times moved (whole bars) so the first live close is the venue's next one: every close
    # is then newer than the account view, as live, and PortfolioRisk's decision needs a view
    # read after it (the shipped bars are older than the simulator's clock: no view was stale)
    t_first = int(series[SYMBOLS[0]][warm][0])
    shift = (venue.now_ms() // TF_MS + 1) * TF_MS - TF_MS - t_first
    traces: list[tuple[list[tuple[str, int]], str]] = []
    signals = 0
    tick = threading.Event()
    loads = [os.getloadavg()[0]]
    close_ns: list[int] = []  # when each close's first bar was sent
    cpu_at_warm: tuple[float, float, dict[str, float]] | None = None
    for k in range(n):
        if k == warm:  # the live closes start: CPU from here on (the runners' start-up excluded)
            cpu_at_warm = (time.perf_counter(), _busy_s(), _proc_cpu_s(graph, runners))
        refs = []
        read = None
        if k > warm and close_gap_s > 0:  # paced: the previous close's work has room to end
            tick.wait(max(0.0, close_ns[-1] / 1e9 + close_gap_s - time.monotonic()))
        close_ns.append(time.monotonic_ns())
        bars = []
        for s in SYMBOLS:
            t, o, h, lo, c, v = series[s][k]
            bars.append(Bar(source="bench", seq=k, venue="paper", symbol=s, timeframe="15m",
                            time_ms=int(t) + shift, open=o, high=h, low=lo, close=c, volume=v,
                            backfilled=k < warm))  # fmt: skip
        for actor, its_bars in by_actor(runners, bars).items():
            if announce and read is None and k >= warm:  # as the DataFeed does, first
                read = graph.executor.bar_closed.remote(bars[0].time_ms + TF_MS)
            refs.append(actor.on_bars.remote(its_bars, [("sent", time.monotonic_ns())]))
        fired = sum(1 for sigs in ray.get(refs) for sig in sigs if sig is not None)
        if fired:
            signals += fired
            deadline = time.monotonic() + 60
            while len(traces) < signals or graph.in_flight():
                # one blocking call per bar close, not a 2 ms poll: this process also runs the
                # simulator, and the polls' Ray calls competed with the path being measured
                traces += ray.get(graph.executor.traces.remote(signals - len(traces), 5.0))
                if time.monotonic() > deadline:
                    raise RuntimeError(f"signals {signals}, traces {len(traces)}: pipeline stuck")
                if len(traces) >= signals:
                    tick.wait(0.005)  # the acknowledgement to PortfolioRisk follows the trace
        if read is not None:  # live closes are a timeframe apart: the read is long done by then
            ray.get(read)
        if k % 500 == 0:
            loads.append(os.getloadavg()[0])
        if signals >= min_signals:
            break
    cpu = _cpu_per_close(cpu_at_warm, graph, runners, k + 1 - warm)
    for r in actors_of(runners):
        ray.kill(r)
    statuses = sorted({st for _, st in traces})
    hops: dict[str, list[float]] = {}
    total = []
    for stamps, _ in traces:
        d = dict(stamps)
        total.append((d["venue_answered"] - d["sent"]) / 1e9)
        for a, b in zip(HOPS, HOPS[1:], strict=False):
            hops.setdefault(f"{a}->{b}", []).append((d[b] - d[a]) / 1e9)
    return {
        "bar_to_accept": summary(total), "order_statuses": statuses, "bar_closes": k + 1,
        "bars": (k + 1) * len(SYMBOLS), "signals": signals,
        "hops_ms": {h: {"p50": pct(v, 0.5) * 1e3, "p99": pct(v, 0.99) * 1e3}
                    for h, v in hops.items()},
        "p99_ms_by_quarter": [pct(q, 0.99) * 1e3 for q in _quarters(total)],
        **_by_rank(traces, close_ns),
        "load_avg_1m": loads,
        "cpu": cpu,
    }  # fmt: skip


def _busy_s() -> float:
    """CPU seconds the whole machine has been busy (every core, every process)."""
    import psutil

    t = psutil.cpu_times()
    return float(sum(t)) - t.idle - getattr(t, "iowait", 0.0)


def _proc_cpu_s(graph: Graph, runners: dict[str, Any]) -> dict[str, float]:
    """CPU seconds (user + system) of each actor process and of this driver (the DataFeed's
    part and the simulator), by role."""
    import psutil
    import ray

    roles = {"alerter": graph.alerter, "keeper": graph.keeper, "executor": graph.executor,
             "risk": graph.risk,
             **{f"runner:{i}": r for i, r in enumerate(actors_of(runners))}}  # fmt: skip
    pids = dict(zip(roles, ray.get([h.__ray_call__.remote(lambda self: os.getpid())
                                    for h in roles.values()]), strict=True))  # fmt: skip
    pids["driver+simulator"] = os.getpid()
    out = {}
    for role, pid in pids.items():
        t = psutil.Process(pid).cpu_times()
        out[role] = t.user + t.system
    return out


def _cpu_per_close(
    start: tuple[float, float, dict[str, float]] | None,
    graph: Graph,
    runners: dict[str, Any],
    closes: int,
) -> dict[str, Any] | None:
    """What each live close cost in CPU: the machine's busy time and each role's share, per
    close, and how busy the cores were (1.0 = saturated): the budget every hop's latency comes
    out of on a small machine."""
    if start is None or closes <= 0:
        return None
    wall0, busy0, procs0 = start
    wall, busy, procs = time.perf_counter() - wall0, _busy_s() - busy0, _proc_cpu_s(graph, runners)
    roles: dict[str, float] = {}
    for role, s in procs.items():
        key = "runners (all)" if role.startswith("runner:") else role
        roles[key] = roles.get(key, 0.0) + (s - procs0[role]) * 1e3 / closes
    return {"closes": closes, "machine_busy_ms_per_close": busy * 1e3 / closes,
            "cores_busy_fraction": busy / (wall * (os.cpu_count() or 1)),
            "ms_per_close_by_role": roles}  # fmt: skip


def _by_rank(traces: list[Any], close_ns: list[int]) -> dict[str, Any]:
    """Latency of a close's first signal apart from its 2nd, 3rd... (several symbols signal on
    one close: their entries wait for each other wherever the close's entries share a serial
    stage: PortfolioRisk's decisions, the StateKeeper's commits, the venue), and each hop's
    p50/p99 for both, which shows where the later ones wait."""
    closes: dict[int, list[dict[str, int]]] = {}
    for stamps, _ in traces:
        d = dict(stamps)
        k = bisect.bisect_right(close_ns, d["sent"])
        closes.setdefault(k, []).append(d)
    ranked: dict[str, list[dict[str, int]]] = {"first": [], "later": []}
    for sigs in closes.values():
        for i, d in enumerate(sorted(sigs, key=lambda d: d["venue_answered"])):
            ranked["first" if i == 0 else "later"].append(d)

    def hops(ds: list[dict[str, int]]) -> dict[str, dict[str, float]]:
        out = {}
        for a, b in zip(HOPS, HOPS[1:], strict=False):
            xs = [(d[b] - d[a]) / 1e9 for d in ds]
            out[f"{a}->{b}"] = {"p50": pct(xs, 0.5) * 1e3, "p99": pct(xs, 0.99) * 1e3}
        return out

    def total(ds: list[dict[str, int]]) -> dict[str, float]:
        return summary([(d["venue_answered"] - d["sent"]) / 1e9 for d in ds])

    later = ranked["later"]
    return {"closes_with_signals": len(closes),
            "first_signal_of_a_close": total(ranked["first"]),
            "later_signals_of_a_close": total(later) if later else None,
            "hops_ms_first_signal": hops(ranked["first"]),
            "hops_ms_later_signals": hops(later) if later else None}  # fmt: skip


def _quarters(xs: list[float]) -> list[list[float]]:
    """The signals in four consecutive quarters (a tail that grows over the run shows here)."""
    n = len(xs) // 4
    return [xs[i * n : (i + 1) * n if i < 3 else len(xs)] for i in range(4)] if n else [xs]


def _tm_start(actor: Any) -> None:
    import tracemalloc

    tracemalloc.start(8)


def _tm_mark(actor: Any) -> None:
    import tracemalloc

    actor._bench_tm = tracemalloc.take_snapshot()


def _tm_diff(actor: Any) -> list[str]:
    """The 8 allocation sites that grew most since :func:`_tm_mark` (Python heap only)."""
    import tracemalloc

    now = tracemalloc.take_snapshot()
    stats = now.compare_to(actor._bench_tm, "traceback")
    tracemalloc.stop()
    return [f"{st.size_diff / 2**20:+.1f} MB {st.count_diff:+d} blocks at "
            + " <- ".join(f"{f.filename.rsplit('/', 2)[-1]}:{f.lineno}" for f in st.traceback[:4])
            for st in stats[:8]]  # fmt: skip


def throughput(
    graph: Graph,
    venue: Any,
    replay_bars: int,
    tolerance: float,
    trace_memory: bool = False,
    per_actor: int = 1,
) -> dict[str, Any]:
    """``replay_bars`` 5m bars over 12 symbols as fast as Ray takes them; RSS over time.
    ``trace_memory``: tracemalloc in the executor and risk actors, diffed warm-up -> end."""
    import psutil
    import ray

    from actors.messages import Bar

    per = replay_bars // len(SYMBOLS)
    runners = start_far_runners(graph, venue, "5m", per_actor)
    actors = actors_of(runners)
    handles = [*graph.handles, *actors]
    names = ["alerter", "keeper", "executor", "risk",
             *("runner-" + "+".join(s for s, h in runners.items() if h == a) for a in actors)]  # fmt: skip
    pids = ray.get([h.__ray_call__.remote(lambda self: os.getpid()) for h in handles])
    procs = [psutil.Process(p) for p in pids]
    per_proc: list[list[float]] = []

    def rss_mb() -> float:
        per_proc.append([p.memory_info().rss / 2**20 for p in procs])
        return sum(per_proc[-1])

    series = {s: load_bars(s, "5m", per) for s in SYMBOLS}
    n = min(len(b) for b in series.values())
    traced = {"executor": graph.executor, "risk": graph.risk} if trace_memory else {}
    ray.get([h.__ray_call__.remote(_tm_start) for h in traced.values()])
    samples: list[tuple[int, float, float]] = []  # (bars sent, seconds, MB)
    every = max(n // 40, 1)
    t0 = time.perf_counter()
    refs: list[Any] = []
    for k in range(n):
        bars = []
        for s in SYMBOLS:
            t, o, h, lo, c, v = series[s][k]
            bars.append(Bar(source="bench", seq=k, venue="paper", symbol=s, timeframe="5m",
                            time_ms=int(t), open=o, high=h, low=lo, close=c, volume=v,
                            backfilled=k < 300))  # fmt: skip
        refs += [actor.on_bars.remote(b) for actor, b in by_actor(runners, bars).items()]
        if len(refs) >= QUEUED_BAR_CLOSES * len(actors):
            ray.get(refs)  # back-pressure: a bounded queue of bar closes per runner
            refs = []
        if k % every == 0 or k == n - 1:
            ray.get(refs)
            refs = []
            samples.append(((k + 1) * len(SYMBOLS), time.perf_counter() - t0, rss_mb()))
            if traced and k < n // 4 <= k + every:  # the warm-up sample
                ray.get([h.__ray_call__.remote(_tm_mark) for h in traced.values()])
    elapsed = time.perf_counter() - t0
    grown = {name: ray.get(h.__ray_call__.remote(_tm_diff)) for name, h in traced.items()}
    states = ray.get([r.state.remote(s) for s, r in runners.items()])
    n_signals = sum(st["signals"] for st in states)
    for r in actors:
        ray.kill(r)
    i_warm = next(i for i, (bars, _, _) in enumerate(samples) if bars >= n * len(SYMBOLS) // 4)
    after_warmup = samples[i_warm][2]
    end = samples[-1][2]
    by_process = {name: {"after_warmup_mb": round(per_proc[i_warm][j], 1),
                         "end_mb": round(per_proc[-1][j], 1)} for j, name in enumerate(names)}  # fmt: skip
    growth = (end - after_warmup) / after_warmup
    return {
        "symbols": len(SYMBOLS), "bars": n * len(SYMBOLS), "seconds": elapsed,
        "bars_per_s": n * len(SYMBOLS) / elapsed, "signals": n_signals,
        "messages_per_s": (n * len(SYMBOLS) + n_signals) / elapsed,
        "processes": len(procs), "rss_mb_after_warmup": after_warmup, "rss_mb_end": end,
        "rss_growth_after_warmup": growth, "rss_tolerance": tolerance,
        "rss_flat": growth <= tolerance, "rss_by_process": by_process,
        "rss_mb_series": [(b, round(s, 1), round(m, 1)) for b, s, m in samples],
        "load_avg_1m_end": os.getloadavg()[0],
        **({"python_heap_growth_after_warmup": grown} if traced else {}),
    }  # fmt: skip


def main(emit: Callable[[str], None]) -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--signals", type=int, default=1000,
                    help="signals per latency run (0: throughput and memory only)")  # fmt: skip
    ap.add_argument("--repeat", type=int, default=1, help="latency runs (each on a fresh graph)")
    ap.add_argument("--replay-bars", type=int, default=200_000, help="bars in the memory replay")
    ap.add_argument("--rss-tolerance", type=float, default=0.10)
    ap.add_argument("--skip-throughput", action="store_true")
    ap.add_argument("--no-bar-close-read", action="store_true",
                    help="A/B: do not announce closes to the Executor (PortfolioRisk then asks "
                         "for the fresh view itself, after the StrategyRunner)")  # fmt: skip
    ap.add_argument("--ideal-view", action="store_true",
                    help="upper bound: PortfolioRisk decides without waiting for a view read "
                         "after the close, and no bar-close reads run (not a safe mode)")  # fmt: skip
    ap.add_argument(
        "--close-gap-ms",
        type=float,
        default=0.0,
        help="live closes sent at least this far apart (0: back to back)",
    )
    ap.add_argument("--runners-per-actor", type=int, default=None,
                    help="StrategyRunners per actor process (0: all in one RunnerGroup, 1: an "
                         "actor per symbol; default: the live system's local layout)")  # fmt: skip
    ap.add_argument("--trace-memory", action="store_true",
                    help="tracemalloc diff (warm-up -> end) in the executor and risk actors")  # fmt: skip
    args = ap.parse_args()
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    import ray

    from actors.venues.factory import make_venue
    from actors.venues.paper import PaperExchange

    start_local_ray()  # as `fractal live` starts Ray
    from actors.placement import Placement

    per_actor = (Placement().runners_per_actor if args.runners_per_actor is None
                 else args.runners_per_actor)  # fmt: skip
    out: dict[str, Any] = {"bench": "live", "cpus": os.cpu_count(),
                           "load_avg_start": os.getloadavg(), "runners_per_actor": per_actor,
                           "runs": []}  # fmt: skip
    for rep in range(args.repeat if args.signals > 0 else 0):
        tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
        with PaperExchange(market_dir=MARKET, state_dir=tmp / "paper", symbols=SYMBOLS,
                           speed=1.0, equity=10_000_000.0) as px:  # fmt: skip
            venue = make_venue(px.spec)
            graph = Graph(px, tmp / "d", ideal_view=args.ideal_view)
            run: dict[str, Any] = {"anchors_before": anchors(graph, venue, f"b{rep}"),
                                   "ideal_view": args.ideal_view,
                                   "close_gap_ms": args.close_gap_ms}  # fmt: skip
            announce = not (args.no_bar_close_read or args.ideal_view)
            run.update(
                latency(
                    graph, venue, args.signals, 16_000, announce, args.close_gap_ms / 1e3, per_actor
                )
            )
            run["anchors_after"] = anchors(graph, venue, f"a{rep}")
            direct = [run[a]["direct_place"] for a in ("anchors_before", "anchors_after")]
            for q in ("p50", "p99"):
                ref = statistics.fmean(d[f"{q}_ms"] for d in direct)
                run[f"ratio_{q}_vs_direct_place"] = run["bar_to_accept"][f"{q}_ms"] / ref
            run["resting_orders_on_the_venue"] = len(venue.open_orders())
            out["runs"].append(run)
            if rep == args.repeat - 1 and not args.skip_throughput:
                out["throughput"] = throughput(graph, venue, args.replay_bars, args.rss_tolerance,
                                               args.trace_memory, per_actor)  # fmt: skip
            graph.kill()
            venue.close()
    if args.signals == 0 and not args.skip_throughput:  # throughput and memory only
        tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
        with PaperExchange(market_dir=MARKET, state_dir=tmp / "paper", symbols=SYMBOLS,
                           speed=1.0, equity=10_000_000.0) as px:  # fmt: skip
            venue = make_venue(px.spec)
            graph = Graph(px, tmp / "d")
            out["throughput"] = throughput(graph, venue, args.replay_bars, args.rss_tolerance,
                                           args.trace_memory, per_actor)  # fmt: skip
            graph.kill()
            venue.close()
    ray.shutdown()
    p99s = [r["bar_to_accept"]["p99_ms"] for r in out["runs"]]
    out["bar_to_accept_p50_ms"] = [r["bar_to_accept"]["p50_ms"] for r in out["runs"]]
    out["bar_to_accept_p99_ms"] = p99s
    out["first_signal_of_a_close_p99_ms"] = [r["first_signal_of_a_close"]["p99_ms"]
                                             for r in out["runs"]]  # fmt: skip
    out["target_p99_ms"] = 50.0
    out["checks"] = {
        "every_signal_accepted": all(r["order_statuses"] == ["resting"] for r in out["runs"]),
        "rss_flat_after_warmup": out.get("throughput", {}).get("rss_flat", True),
    }
    out["p99_target_met"] = bool(p99s) and max(p99s) <= out["target_p99_ms"]
    emit(json.dumps(out, indent=1))
    if not all(out["checks"].values()):
        sys.exit(1)


if __name__ == "__main__":
    with reserved_stdout() as emit:  # Ray's raylet writes warnings to fd 1
        main(emit)
