"""A whole sweep: plan the variants, run the unfinished ones on Ray, write the table, the
honest-evaluation report and one MLflow parent run. Ray must already be running (the caller
starts or joins it: cluster/ray_runtime.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from research.backtest.config import BacktestConfig
from research.sweep import plan as planning
from research.sweep.dataset import Dataset
from research.sweep.report import honest_report
from research.sweep.results import ResultsStore
from research.sweep.runner import RunStats, SweepInterrupted, run_variants
from research.sweep.space import Space, SpaceError

METHODS = ("grid", "random", "lhs", "optuna")


@dataclass
class SweepRequest:
    strategy: str
    method: str
    space: Space
    config: BacktestConfig
    datasets: list[Dataset]
    data_dir: Path
    variants: int | None = None
    seed: int = 0
    tracking_uri: str | None = None
    experiment: str = "fractal-sweeps"
    top_n: int = 5
    progress: bool = True
    study: str | None = None
    storage: str | None = None
    objectives: tuple[str, ...] = ("sharpe",)
    mlflow: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def identity(self) -> str:
        spec: dict[str, Any] = {"space": self.space.spec()}
        if self.method != "grid":  # a grid does not depend on the seed or a count
            spec["variants"] = self.variants
            spec["seed"] = self.seed
        if self.method == "optuna":
            spec["objectives"] = list(self.objectives)
        return planning.sweep_id(self.strategy, self.method, spec, self.datasets, self.config)


def sweep_dir(req: SweepRequest) -> Path:
    return req.data_dir / "sweeps" / f"{req.strategy}-{req.identity()}"


def run_sweep(req: SweepRequest, on_batch: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Run (or resume) the sweep and return its summary (the CLI's JSON)."""
    if req.method not in METHODS:
        raise SpaceError(f"unknown method {req.method!r}; use one of {', '.join(METHODS)}")
    root = sweep_dir(req)
    store = ResultsStore(root)
    cache_dir = req.data_dir / "cache" / "detections"
    sid = req.identity()
    if req.method == "optuna":
        from research.sweep.optuna_study import run_study

        variants, stats, rejected, study_info = run_study(req, store, cache_dir, on_batch)
    else:
        points, rejected = req.space.points(req.method, req.variants, req.seed)
        if not points:
            raise SpaceError(f"no valid parameter set in the space ({rejected} refused by Params)")
        variants = planning.plan(req.strategy, req.datasets, points, req.config)
        study_info = {}
        try:
            stats = run_variants(
                req.strategy, variants, req.config, store, cache_dir, req.progress, on_batch
            )
        except SweepInterrupted:
            _consolidate(store, variants)
            raise
    rows = _consolidate(store, variants)
    report = honest_report(rows)
    summary = _summary(req, sid, root, store, variants, rows, stats, rejected, report)
    summary.update(study_info)
    if req.mlflow:
        from research.sweep.tracking import log_sweep

        run_id, uri = log_sweep(req, summary, rows, report, store.table_path, root)
        summary["mlflow_run_id"], summary["tracking_uri"] = run_id, uri
    (root / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    return summary


def _consolidate(store: ResultsStore, variants: list[planning.Variant]) -> pd.DataFrame:
    rows = store.load([v.id for v in variants])
    store.write_table(rows)
    return rows


def _summary(
    req: SweepRequest, sid: str, root: Path, store: ResultsStore,
    variants: list[planning.Variant], rows: pd.DataFrame, stats: RunStats, rejected: int,
    report: dict[str, Any],
) -> dict[str, Any]:  # fmt: skip
    best: dict[str, Any] = {}
    if len(rows):
        b = rows.iloc[int(rows["sharpe"].to_numpy().argmax())]
        best = {
            "variant_id": b["variant_id"], "symbol": b["symbol"], "timeframe": b["timeframe"],
            "params": {c[6:]: _py(b[c]) for c in rows.columns if c.startswith("param_")},
            "sharpe": float(b["sharpe"]), "total_return": float(b["total_return"]),
            "max_drawdown": float(b["max_drawdown"]), "trades": int(b["trades"]),
        }  # fmt: skip
    kernel = stats.kernel_seconds
    return {
        "sweep_id": sid, "strategy": req.strategy, "method": req.method,
        "datasets": [d.label for d in req.datasets], "space": req.space.spec(),
        "seed": req.seed, "variants": len(variants), "computed": stats.computed,
        "skipped": stats.skipped, "rejected_points": rejected, "rows": len(rows),
        "results": str(store.table_path), "sweep_dir": str(root),
        "dsr": float(report["dsr"]), "pbo": float(report["pbo"]), "psr": float(report["psr"])
        if "psr" in report else 0.0,
        "survives_oos": bool(report["survives"]), "verdict": report["verdict"], "best": best,
        "per_dataset": [_brief(d) for d in report["datasets"]],
        "timing": {"wall_s": stats.wall_seconds, "kernel_s": kernel,
                   "kernel_cpu_s": stats.kernel_cpu_seconds, "detect_s": stats.detect_seconds,
                   "tasks": stats.tasks, "cpus": stats.cpus,
                   "worker_peak_rss_mb": stats.worker_peak_rss_mb,
                   "variants_per_s": stats.computed / stats.wall_seconds if stats.wall_seconds else 0.0},
        "detector_cache": {"sets": stats.detector_sets, "hits": stats.cache_hits,
                           "misses": stats.cache_misses},
        "mlflow_run_id": None, "tracking_uri": None,
    }  # fmt: skip


def _brief(d: dict[str, Any]) -> dict[str, Any]:
    """One dataset's overfitting figures without the CSCV lambdas and fold lists."""
    wf = d["walk_forward"]
    out = {k: v for k, v in d.items() if k not in ("lambdas", "walk_forward")}
    for name in ("anchored", "rolling"):
        out[f"wf_{name}_is_sharpe"] = wf[name]["is_sharpe"]
        out[f"wf_{name}_oos_sharpe"] = wf[name]["oos_sharpe"]
        out[f"wf_{name}_efficiency"] = wf[name]["efficiency"]
    return out


def _py(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v
