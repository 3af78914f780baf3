"""Soak benchmark (issue #18): days of shipped Hyperliquid data replayed through the whole live
system (DataFeed, StrategyRunner per symbol, PortfolioRisk, Executor, StateKeeper, Alerter on
Ray, the loopback simulator as the venue) as fast as it can handle them, with faults injected.

Run: ``.venv/bin/python tests/bench/bench_soak.py [--days 7] [--timeframe 15m] ...`` (``make
bench``; not part of ``make test``). Prints one JSON object; exits 1 if anything was lost.

How: the simulator's clock is manual and is stepped one bar of the live timeframe at a time; the
simulator walks its finest shipped bars in between (1m where the files have them — from
2025-07-21 — and 5m before), so stops and targets trigger on the real path. After each step the
harness waits until the step was handled end to end (tests/live/chaos.py: bar published, every
runner at the bar, every signal decided, every approved entry acknowledged, fills synced), so a
stall is measured, never hidden. Every ``--fault-every`` steps one fault, in a seeded rotation:

* ``http_5xx_exchange`` / ``http_5xx_info``: the next request gets a 500;
* ``rate_limit_429``: the IP budget drops to nothing for 2 wall seconds (every request a 429);
* ``timeout_after_accept``: the next order is applied but its reply never comes (1 s hang);
* ``ws_silence``: market-data pushes stop for a few steps (the feed's watchdog reconnects);
* ``kill_<actor>``: ``ray.kill(no_restart=False)`` of one actor type (Ray restarts it).

The circuit breakers run as configured, except that the exchange-failure window is compressed
with the replay (``--exchange-window-s`` wall seconds instead of 300). A breaker that trips is
resumed by the two-step confirmation, as an operator would, and counted (a halted soak would
otherwise trade no more). Memory: the RSS of every actor process, sampled every
``--rss-every`` steps (pids re-read after kills); "flat" means the total grew by at most
``--rss-tolerance`` from the end of the first quarter to the end.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

DAY_MS = 86_400_000
END_MS = 1_753_488_000_000  # 2025-07-26 00:00 UTC: the shipped Hyperliquid 1m files end that day
FAULTS = ("http_5xx_exchange", "http_5xx_info", "rate_limit_429", "timeout_after_accept",
          "ws_silence", "kill_feed", "kill_runner", "kill_risk", "kill_executor", "kill_keeper",
          "kill_alerter")  # fmt: skip
WS_SILENT_STEPS = 3
BURST_429_S = 2.0


def inject(s: Any, fault: str, step: int) -> None:
    f = s.paper.simulator.faults
    if fault == "http_5xx_exchange":
        f.inject("http_5xx", count=1, path="/exchange")
    elif fault == "http_5xx_info":
        f.inject("http_5xx", count=1, path="/info")
    elif fault == "rate_limit_429":  # a burst: every request a 429 for BURST_429_S wall seconds
        f.inject("rate_limit", weight_per_min=1)
        threading.Timer(BURST_429_S, lambda: setattr(f, "rate_limit_per_min", None)).start()
    elif fault == "timeout_after_accept":
        f.inject("timeout_after_accept", count=1, hang_seconds=1.0)
    elif fault == "ws_silence":
        f.inject("ws_silent", on=True)
    elif fault.startswith("kill_"):
        s.kill(fault.removeprefix("kill_"), step)


def clear(s: Any, fault: str) -> None:
    f = s.paper.simulator.faults
    if fault == "ws_silence":
        f.inject("ws_silent", on=False)


def resume_tripped(data_dir: Path) -> list[str]:
    """The operator's two-step resume of every tripped breaker (logged in the events log)."""
    from actors.state.breakers import BreakerStore

    store = BreakerStore(data_dir)
    done = []
    for name, st in store.states().items():
        if st.state != "armed" and name != "kill":
            code = secrets.token_hex(4)
            store.request_resume(name, code)
            store.confirm(code)
            done.append(name)
    return done


def rss(s: Any) -> dict[str, float]:
    """RSS (MB) of every actor process of the live system, by actor."""
    import psutil
    import ray

    live = s.live
    handles = {"feed": live.feed, "risk": live.risk, "executor": live.executor,
               "keeper": live.keeper, "alerter": live.alerter,
               **{"runner-" + "+".join(s for s, h in live.runners.items() if h == r): r
                  for r in dict.fromkeys(live.runners.values())}}  # fmt: skip
    out = {}
    for name, h in handles.items():
        try:
            pid = ray.get(h.__ray_call__.remote(lambda self: os.getpid()), timeout=60)
            out[name] = psutil.Process(pid).memory_info().rss / 2**20
        except Exception:  # restarting right now: skipped in this sample
            continue
    return out


def drain(s: Any) -> tuple[int, float]:
    """Orders whose outcome is still unknown when the replay ends (a 5xx or a lost reply in the
    last steps) are settled as in live trading: looked up by cloid every poll, and "never
    placed" only once their ``expiresAfter`` (wall time) has passed. Waits for that (bounded),
    so "lost" counts what was lost, not what was still being looked up. Returns (unknown at
    the end of the replay, wall seconds waited)."""
    import ray

    from actors.upkeep import UNKNOWN_GIVE_UP_MS
    from tests.live import chaos

    def unknown() -> int:
        ex = s.live.executor
        chaos.call(lambda: ex.poll_now.remote())
        n = chaos.call(lambda: ex.__ray_call__.remote(lambda self: len(self.unknown)))
        return -1 if n is None else int(n)

    t0 = time.monotonic()
    first = n = unknown()
    tick = threading.Event()
    while n != 0 and time.monotonic() - t0 < UNKNOWN_GIVE_UP_MS / 1000 + 60:
        tick.wait(1.0)  # the give-up is on the wall clock: nothing to wait on but time
        n = unknown()
    ray.get(s.live.executor.poll_now.remote())
    return first, round(time.monotonic() - t0, 1)


def main(emit: Any = print) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--days", type=float, default=7.0)
    ap.add_argument("--timeframe", default="15m")
    ap.add_argument("--symbols", default="BTC,ETH")
    ap.add_argument("--strategy", default="bos_orderblock")
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--fault-every", type=int, default=12, help="steps between faults")
    ap.add_argument("--rss-every", type=int, default=24, help="steps between RSS samples")
    ap.add_argument("--rss-tolerance", type=float, default=0.10)
    ap.add_argument("--exchange-window-s", type=float, default=2.0)
    ap.add_argument("--settle-timeout-s", type=float, default=300.0)
    args = ap.parse_args()
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    import ray

    from strategies.breakers import Thresholds
    from tests.bench.harness import start_local_ray
    from tests.live import chaos

    symbols = tuple(x.strip().upper() for x in args.symbols.split(",") if x.strip())
    tf = chaos.TF_MS[args.timeframe]
    steps = int(args.days * DAY_MS // tf)
    start = END_MS - steps * tf
    rng = random.Random(args.seed)
    start_local_ray()  # as `fractal live` starts Ray
    tmp = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    faults: dict[str, int] = {}
    trips: list[tuple[int, str]] = []
    samples: list[tuple[int, float, dict[str, float]]] = []
    stalls: list[str] = []
    t0 = time.monotonic()
    out: dict[str, Any] = {"bench": "soak", "cpus": os.cpu_count(), "days": args.days,
                           "timeframe": args.timeframe, "symbols": list(symbols),
                           "strategy": args.strategy, "steps": steps, "seed": args.seed,
                           "start_ms": start, "load_avg_start": os.getloadavg()}  # fmt: skip
    thresholds = Thresholds(exchange_window_s=args.exchange_window_s)
    with chaos.session(tmp, "soak", symbols, args.timeframe, args.strategy, warmup_bars=300,
                       start_ms=start, thresholds=thresholds, feed_silence_s=2.0) as s:  # fmt: skip
        up = time.monotonic()
        out["startup_s"] = round(up - t0, 1)
        active: list[tuple[str, int]] = []  # faults to clear, with the step to clear them at
        order = list(FAULTS)
        for i in range(steps):
            fault = None
            if i and i % args.fault_every == 0:
                if not order:
                    order = list(FAULTS)
                fault = order.pop(rng.randrange(len(order)))
                inject(s, fault, i)
                faults[fault] = faults.get(fault, 0) + 1
                active.append((fault, i + (WS_SILENT_STEPS if fault == "ws_silence" else 1)))
            bar = s.step()
            try:
                s.settle(bar, timeout_s=args.settle_timeout_s)
            except AssertionError as err:
                stalls.append(f"step {i}: {err}")
            for f, until in list(active):
                if i + 1 >= until:
                    clear(s, f)
                    active.remove((f, until))
            trips += [(i, n) for n in resume_tripped(tmp / "soak" / "data")]
            if i % args.rss_every == 0 or i == steps - 1:
                m = rss(s)
                samples.append((i, round(time.monotonic() - up, 1), m))
                print(f"soak: step {i + 1}/{steps}, {time.monotonic() - up:.0f} s, "
                      f"{sum(faults.values())} faults, {len(stalls)} stalls, "
                      f"RSS {sum(m.values()):.0f} MB", file=sys.stderr, flush=True)  # fmt: skip
        elapsed = time.monotonic() - up
        out["unknown_at_end"], out["drain_s"] = drain(s)
        counts = ray.get(s.live.keeper.counts.remote())
        lost = chaos.problems(s)
        out["ledger"] = {k: len(v) if isinstance(v, list | dict) else v
                         for k, v in chaos.ledger(s).items()}  # fmt: skip
    ray.shutdown()
    totals = [(i, sec, sum(m.values()), len(m)) for i, sec, m in samples]
    full = [t for t in totals if t[3] == max(n for *_, n in totals)]  # samples with every actor
    q = next((t for t in full if t[0] >= steps // 4), full[0])
    growth = (full[-1][2] - q[2]) / q[2]
    out.update({
        "replay_wall_s": round(elapsed, 1),
        "market_days_per_wall_hour": round(args.days / (elapsed / 3600), 1),
        "uptime": {"steps_settled": steps - len(stalls), "steps": steps,
                   "fraction": (steps - len(stalls)) / steps, "stalls": stalls[:20]},
        "orders": counts, "faults_injected": faults, "faults_total": sum(faults.values()),
        "actor_kills": sum(n for f, n in faults.items() if f.startswith("kill_")),
        "breaker_trips_resumed": trips,
        "rss_mb": {"after_first_quarter": round(q[2], 1), "end": round(full[-1][2], 1),
                   "growth": round(growth, 4), "tolerance": args.rss_tolerance,
                   "flat": growth <= args.rss_tolerance,
                   "series": [(i, sec, round(tot, 1)) for i, sec, tot, _ in totals],
                   "by_actor_end": {k: round(v, 1) for k, v in samples[-1][2].items()}},
        "lost": lost, "load_avg_end": os.getloadavg(),
    })  # fmt: skip
    emit(json.dumps(out, indent=1))
    if lost or stalls:
        sys.exit(1)


if __name__ == "__main__":
    from cluster.cli_common import reserved_stdout

    with reserved_stdout() as emit:  # Ray's raylet writes warnings to fd 1
        main(emit)
