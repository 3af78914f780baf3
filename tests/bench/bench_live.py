"""Live pipeline benchmark on the loopback simulator (paper venue, real actors, real journal).

Run: ``.venv/bin/python tests/bench/bench_live.py [--signals N] [--bars N]`` (``make bench``).
Prints one JSON object. Measured in one run, with anchors from the same run:

* ``signal_to_accept_ms``: a Signal handed to PortfolioRisk -> rules, sizing, signal journaled,
  intent journaled (fsync) *before* the venue call, the Executor's signed order accepted by the
  simulator (a resting limit far from the market, so every signal makes one accepted order) and
  the order update journaled; p50/p99 over ``--signals`` signals. The benchmark's risk rules
  drop the one-position-per-symbol and max-positions rules (the rule list is pluggable) so
  that every signal is approved.
* ``bar_to_runner_ms``: one closed bar through the StrategyRunner (Ray hop + SMC stream + kernel)
  over shipped BTC 15m bars. ``bar_to_accept_p50/p99_ms`` = the two added (the hops are serial).
* ``anchors``: a no-op Ray actor call, and ``venue.place`` of the same order straight from this
  process (no actors, no journal): ``ratio_vs_direct_place`` says what the actors and the
  journal add.
* ``throughput``: 12 runners (12 shipped symbols) fed ``--bars`` bars each as fast as Ray takes
  them, risk and executor attached: bars/s and messages/s (bars + signals), and the resident
  memory (RSS, MB) of all actor processes after warm-up and at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
SHARED = Path(os.environ.get("SHARED_DATA_DIR", ROOT.parent / "shared" / "data"))
MARKET = SHARED / "market"
SYMBOLS = ["BTC", "ETH", "SOL", "HYPE", "XRP", "DOGE", "SUI", "AVAX", "LINK", "ADA", "BNB", "LTC"]


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(round(q * (len(s) - 1))))]


def summary(xs: list[float]) -> dict[str, float]:
    return {"p50_ms": pct(xs, 0.5) * 1e3, "p99_ms": pct(xs, 0.99) * 1e3,
            "mean_ms": statistics.fmean(xs) * 1e3, "n": len(xs)}  # fmt: skip


def rss_mb(pids: list[int]) -> float:
    import psutil

    return sum(psutil.Process(p).memory_info().rss for p in pids) / 2**20


def load_bars(symbol: str, n: int) -> list[tuple[float, ...]]:
    import pandas as pd

    df = pd.read_csv(MARKET / "hyperliquid_perp_2025" / f"hyperliquid_{symbol}USDC_15m.csv.gz")
    return [tuple(r) for r in df.tail(n).itertuples(index=False)]


def main() -> None:  # noqa: PLR0915 - one linear script
    ap = argparse.ArgumentParser()
    ap.add_argument("--signals", type=int, default=1000)
    ap.add_argument("--bars", type=int, default=2000)
    args = ap.parse_args()
    os.environ.setdefault("RAY_DISABLE_USAGE_STATS", "1")
    import ray

    from actors.alerter import Alerter
    from actors.executor import Executor
    from actors.keeper import StateKeeper
    from actors.messages import Bar, Signal, make_cloid
    from actors.risk import PortfolioRisk
    from actors.runner import StrategyRunner
    from actors.venues.base import OrderRequest
    from actors.venues.factory import make_venue
    from actors.venues.paper import PaperExchange
    from strategies import risk as rules
    from strategies.risk import Limits

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    out: dict[str, Any] = {"bench": "live", "signals": args.signals, "bars": args.bars}
    tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
    opts = {"num_cpus": 0}
    with PaperExchange(market_dir=MARKET, state_dir=tmp / "paper", symbols=SYMBOLS, speed=1.0,
                       equity=1_000_000.0) as px:  # fmt: skip
        venue = make_venue(px.spec)
        alerter = ray.remote(Alerter).options(**opts).remote()
        keeper = (
            ray.remote(StateKeeper).options(**opts, max_concurrency=4).remote(tmp / "d", 3600.0)
        )
        executor = ray.remote(Executor).options(**opts, max_concurrency=4).remote(
            px.spec, keeper, alerter, None, None, False, None, 0.5, 3600.0,
            one_entry_per_symbol=False,
        )  # fmt: skip
        bench_rules = tuple(r for r in rules.DEFAULT_RULES
                            if r not in (rules.one_position_per_symbol, rules.max_open_positions))  # fmt: skip
        risk = (
            ray.remote(PortfolioRisk)
            .options(**opts)
            .remote(
                Limits(risk_fraction=0.0001, max_leverage=1.0),
                executor,
                keeper,
                alerter,
                bench_rules,
            )
        )
        ray.get(executor.attach.remote(risk))
        mid = float(venue._mid("BTC"))

        # anchors: a no-op actor call; a direct venue.place of the same kind of order
        noop = [0.0] * 200
        for i in range(200):
            t0 = time.perf_counter()
            ray.get(alerter.count.remote("none"))
            noop[i] = time.perf_counter() - t0
        direct = []
        for i in range(100):
            req = OrderRequest(cloid=make_cloid("bench", "BTC", f"direct{i}", "entry"), symbol="BTC",
                               side="buy", size=0.001, kind="limit", price=round(mid * 0.6))  # fmt: skip
            t0 = time.perf_counter()
            venue.place(req)
            direct.append(time.perf_counter() - t0)
        out["anchors"] = {"ray_noop_call": summary(noop), "direct_place": summary(direct)}

        # signal -> order accepted by the simulator, through PortfolioRisk and the Executor
        lat = []
        for i in range(args.signals):
            sig = Signal(source="bench", seq=i, signal_id=f"bench:BTC:15m:{i}", strategy="bench",
                         symbol="BTC", bar_time_ms=i, side="buy", kind="limit",
                         price=round(mid * 0.6), stop=round(mid * 0.55), reasons={})  # fmt: skip
            t0 = time.perf_counter()
            d = ray.get(risk.on_signal.remote(sig))
            lat.append(time.perf_counter() - t0)
            assert d.approved, d
        accepted = sum(1 for o in venue.open_orders() if o.symbol == "BTC")
        out["signal_to_accept_ms"] = summary(lat)
        out["orders_resting_on_the_venue"] = accepted

        # bar -> runner (Ray hop + stream + kernel), shipped BTC 15m bars
        runner = (
            ray.remote(StrategyRunner)
            .options(**opts)
            .remote("BTC", "15m", "liquidity_sweep", {}, None, None)
        )
        ray.get(runner.state.remote())
        bars = load_bars("BTC", args.bars)
        per_bar = []
        for k, (t, o, h, lo, c, v) in enumerate(bars):
            bar = Bar(source="bench", seq=k, venue="paper", symbol="BTC", timeframe="15m",
                      time_ms=int(t), open=o, high=h, low=lo, close=c, volume=v, backfilled=True)  # fmt: skip
            t0 = time.perf_counter()
            ray.get(runner.on_bar.remote(bar))
            per_bar.append(time.perf_counter() - t0)
        warm = per_bar[200:] or per_bar
        out["bar_to_runner_ms"] = summary(warm)
        out["bar_to_accept_p50_ms"] = (
            out["bar_to_runner_ms"]["p50_ms"] + out["signal_to_accept_ms"]["p50_ms"]
        )
        out["bar_to_accept_p99_ms"] = (
            out["bar_to_runner_ms"]["p99_ms"] + out["signal_to_accept_ms"]["p99_ms"]
        )
        out["ratio_vs_direct_place"] = (out["signal_to_accept_ms"]["p50_ms"]
                                        / out["anchors"]["direct_place"]["p50_ms"])  # fmt: skip
        ray.kill(runner)

        # throughput and memory: 12 symbols, bars as fast as Ray takes them, signals live
        runners = {s: ray.remote(StrategyRunner).options(**opts).remote(
            s, "15m", "liquidity_sweep", {}, None, risk) for s in SYMBOLS}  # fmt: skip
        ray.get([r.state.remote() for r in runners.values()])
        handles = [alerter, keeper, executor, risk, *runners.values()]
        pids = ray.get([h.__ray_call__.remote(lambda self: os.getpid()) for h in handles])
        series = {s: load_bars(s, args.bars) for s in SYMBOLS}
        n = min(len(b) for b in series.values())
        rss = []
        t0 = time.perf_counter()
        refs: list[Any] = []
        for k in range(n):
            for s in SYMBOLS:
                t, o, h, lo, c, v = series[s][k]
                bar = Bar(source="bench", seq=k, venue="paper", symbol=s, timeframe="15m",
                          time_ms=int(t), open=o, high=h, low=lo, close=c, volume=v,
                          backfilled=k < n // 2)  # fmt: skip
                refs.append(runners[s].on_bar.remote(bar))
            if k % 200 == 0:
                sigs = ray.get(refs)
                refs = []
                rss.append((k, rss_mb(pids)))
        sigs = ray.get(refs)
        elapsed = time.perf_counter() - t0
        states = ray.get([r.state.remote() for r in runners.values()])
        n_signals = sum(st["signals"] for st in states)
        rss.append((n, rss_mb(pids)))
        out["throughput"] = {
            "symbols": len(SYMBOLS), "bars": n * len(SYMBOLS), "seconds": elapsed,
            "bars_per_s": n * len(SYMBOLS) / elapsed, "signals": n_signals,
            "messages_per_s": (n * len(SYMBOLS) + n_signals) / elapsed,
            "rss_mb_after_warmup": rss[1][1] if len(rss) > 1 else rss[0][1],
            "rss_mb_end": rss[-1][1], "rss_mb_series": rss,
        }  # fmt: skip
        del sigs
        for h in handles:
            ray.kill(h)
        venue.close()
    ray.shutdown()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
