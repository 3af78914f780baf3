"""MLflow: one parent run per sweep, the top N variants as child runs, never a run per variant
(a run costs 36-54 ms locally, 320-400 ms over HTTP: docs/research.md §6).

Default store: SQLite under ``FRACTAL_DATA_DIR/mlflow`` with artifacts beside it; any tracking
URI when given. The parent run is found again by its ``fractal.sweep_id`` tag, so a resumed or
repeated sweep updates its own run instead of adding one.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from research.sweep import batch, detector_cache
from research.sweep.charts import write_charts

if TYPE_CHECKING:
    from research.sweep.sweep import SweepRequest

METRICS = ("total_return", "sharpe", "sortino", "max_drawdown", "calmar", "trade_count",
           "win_rate", "profit_factor", "fees_paid", "funding_paid")  # fmt: skip


def default_uri(data_dir: Path) -> str:
    return f"sqlite:///{(data_dir / 'mlflow' / 'mlflow.db').resolve()}"


def artifact_root(data_dir: Path) -> Path:
    return (data_dir / "mlflow" / "artifacts").resolve()


def client_for(uri: str) -> Any:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def experiment_id(client: Any, name: str, data_dir: Path, uri: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        return str(exp.experiment_id)
    loc = artifact_root(data_dir).as_uri() if uri.startswith("sqlite:") else None
    if loc:
        artifact_root(data_dir).mkdir(parents=True, exist_ok=True)
    return str(client.create_experiment(name, artifact_location=loc))


def _code_version() -> str:
    """The git commit, or FRACTAL_CODE_VERSION where the code has no .git (a `ray job submit
    --working-dir` upload: the submitter sets it, README "From one machine to a cluster")."""
    if os.environ.get("FRACTAL_CODE_VERSION"):
        return os.environ["FRACTAL_CODE_VERSION"]
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).resolve().parent,
        )  # fmt: skip
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def _finite(d: dict[str, Any]) -> dict[str, float]:
    out = {}
    for k, v in d.items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if np.isfinite(f):
            out[k] = f
    return out


def _curves(req: SweepRequest, top: pd.DataFrame) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """Equity of the top variants, re-run here (detector matrices from the disk cache)."""
    from strategies import registry

    module = registry.get(req.strategy)
    by_label = {d.label: d for d in req.datasets}
    out = []
    for r in top.to_dict("records"):
        ds = by_label[f"{r['symbol']}/{r['timeframe']}"]
        params = {str(c)[6:]: (v.item() if hasattr(v, "item") else v)
                  for c, v in r.items() if str(c).startswith("param_")}  # fmt: skip
        x = None
        if hasattr(module, "spec"):
            spec = module.spec(module.Params.model_validate(params))
            det, cols = dict(spec.detector_params), list(spec.columns)
            key = detector_cache.cache_key(ds.candles_digest, det, cols)
            a = ds.arrays
            x, _ = detector_cache.load_or_compute(
                req.data_dir / "cache" / "detections", key, a["det_bars"],
                (a["open"], a["high"], a["low"], a["close"]), det, cols,
            )  # fmt: skip
        eq = batch.equity_curve(req.strategy, ds.arrays, x, params, req.config)
        out.append(
            (f"#{int(r['variant'])} {ds.label} Sharpe {r['sharpe']:.2f}", ds.arrays["ts"], eq)
        )
    return out


def log_sweep(
    req: SweepRequest, summary: dict[str, Any], rows: pd.DataFrame, report: dict[str, Any],
    table: Path, root: Path,
) -> tuple[str, str]:  # fmt: skip
    """Create or update the sweep's parent run; return (run id, tracking URI)."""
    from mlflow.entities import Metric, Param, RunTag

    uri = req.tracking_uri or os.environ.get("MLFLOW_TRACKING_URI") or default_uri(req.data_dir)
    client = client_for(uri)
    exp = experiment_id(client, req.experiment, req.data_dir, uri)
    sid = summary["sweep_id"]
    found = client.search_runs(
        [exp], filter_string=f"tags.`fractal.sweep_id` = '{sid}' and tags.`fractal.role` = 'parent'",
        max_results=1,
    )  # fmt: skip
    if found and summary["computed"] == 0 and _has_table(client, found[0].info.run_id):
        return str(found[0].info.run_id), uri
    if found:
        run_id = found[0].info.run_id
        for child in client.search_runs(
            [exp], filter_string=f"tags.`mlflow.parentRunId` = '{run_id}'", max_results=1000
        ):
            client.delete_run(child.info.run_id)
        params_logged = True
    else:
        run = client.create_run(
            exp, run_name=f"{req.strategy} {req.method} {sid}",
            tags={"fractal.sweep_id": sid, "fractal.role": "parent", "fractal.strategy": req.strategy},
        )  # fmt: skip
        run_id = run.info.run_id
        params_logged = False
    ts = int(pd.Timestamp.now("UTC").timestamp() * 1000)
    if not params_logged:
        params = {
            "strategy": req.strategy, "method": req.method, "seed": req.seed,
            "variants": summary["variants"], "datasets": ",".join(summary["datasets"]),
            "dataset_digests": ",".join(d.digest[:16] for d in req.datasets),
            "code_version": _code_version(), "sweep_id": sid,
            **{f"space.{k}": v for k, v in req.space.spec().items()},
            **{f"config.{k}": v for k, v in _flat(req.config.model_dump(mode="json")).items()},
        }  # fmt: skip
        client.log_batch(run_id, params=[Param(k, str(v)[:6000]) for k, v in params.items()])
    best = summary.get("best") or {}
    wf = report["datasets"][0]["walk_forward"] if report.get("datasets") else {}
    metrics = _finite({
        "variants": summary["variants"], "computed": summary["computed"], "dsr": summary["dsr"],
        "pbo": summary["pbo"], "psr": summary["psr"], "survives_oos": float(summary["survives_oos"]),
        "best_sharpe": best.get("sharpe"), "best_total_return": best.get("total_return"),
        "best_max_drawdown": best.get("max_drawdown"),
        "median_sharpe": float(rows["sharpe"].median()) if len(rows) else None,
        "share_profitable": float((rows["total_return"] > 0).mean()) if len(rows) else None,
        "wf_anchored_oos_sharpe": wf.get("anchored", {}).get("oos_sharpe"),
        "wf_rolling_oos_sharpe": wf.get("rolling", {}).get("oos_sharpe"),
        "variants_per_s": summary["timing"]["variants_per_s"],
    })  # fmt: skip
    client.log_batch(
        run_id, metrics=[Metric(k, v, ts, 0) for k, v in metrics.items()],
        tags=[RunTag("fractal.verdict", summary["verdict"][:5000])],
    )  # fmt: skip
    rep = root / "report.json"
    rep.write_text(json.dumps(report, default=str))
    (root / "summary.json").write_text(json.dumps(summary, default=str, indent=1))
    client.log_artifact(run_id, str(table))
    client.log_artifact(run_id, str(rep))
    client.log_artifact(run_id, str(root / "summary.json"))
    top = rows.nlargest(req.top_n, "sharpe") if len(rows) else rows
    for path in write_charts(rows, report, _curves(req, top), root / "charts"):
        client.log_artifact(run_id, str(path), "charts")
    for rank, r in enumerate(top.to_dict("records"), 1):
        child = client.create_run(
            exp, run_name=f"top{rank} #{int(r['variant'])}",
            tags={"mlflow.parentRunId": run_id, "fractal.sweep_id": sid, "fractal.role": "child",
                  "fractal.variant_id": r["variant_id"]},
        )  # fmt: skip
        cp = {str(c)[6:]: str(v) for c, v in r.items() if str(c).startswith("param_")}
        cp.update({"symbol": r["symbol"], "timeframe": r["timeframe"], "rank": str(rank)})
        client.log_batch(
            child.info.run_id, params=[Param(k, v) for k, v in cp.items()],
            metrics=[Metric(k, v, ts, 0) for k, v in _finite({m: r[m] for m in METRICS}).items()],
        )  # fmt: skip
        client.set_terminated(child.info.run_id)
    client.set_terminated(run_id)
    return str(run_id), uri


def _has_table(client: Any, run_id: str) -> bool:
    return any(f.path == "results.parquet" for f in client.list_artifacts(run_id))


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
