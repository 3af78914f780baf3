"""Optuna studies whose trials run on Ray: ask a batch, evaluate it as one sweep batch, tell.

Why batches: a journal-storage trial costs 25-50 ms and a Ray task 1-6 ms, a backtest ~1 ms per
100k bars (docs/research.md §2, §5), so trials are asked B at a time and evaluated by the same
runner as a grid (results table, resume, detector cache). Storage: ``JournalStorage`` over a
journal file under ``FRACTAL_DATA_DIR/optuna`` (one host), or an RDB URL. A study resumes by
name: trials already finished count toward ``--variants``. Single-objective studies prune on
walk-forward folds: each trial reports its expanding-window Sharpe fold by fold and the median
pruner marks the ones below the running median as pruned (multi-objective studies cannot prune
in Optuna).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from research.sweep import plan as planning
from research.sweep.results import ResultsStore
from research.sweep.runner import RunStats, run_variants

if TYPE_CHECKING:
    from research.sweep.sweep import SweepRequest

MAXIMIZE = ("sharpe", "sortino", "total_return", "cagr", "calmar", "profit_factor", "win_rate",
            "expectancy")  # fmt: skip
MINIMIZE = ("max_drawdown", "max_drawdown_bars")
FOLDS = 8
BATCH = 32  # trials asked per round (per core: 16)


class ObjectiveError(ValueError):
    """Unknown objective name (exit code 2)."""


def parse_objectives(names: list[str]) -> tuple[str, ...]:
    out = tuple(n.strip() for item in names for n in item.split(",") if n.strip()) or ("sharpe",)
    bad = [n for n in out if n not in MAXIMIZE + MINIMIZE]
    if bad:
        raise ObjectiveError(f"unknown objective {bad[0]!r}; use {', '.join(MAXIMIZE + MINIMIZE)}")
    return out


def journal_storage(path: Path) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path.parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(str(path)))


def _suggest(trial: Any, dims: Any) -> dict[str, Any]:
    p: dict[str, Any] = {}
    for d in dims:
        if d.kind == "choice":
            p[d.name] = trial.suggest_categorical(d.name, list(d.choices))
        elif d.kind == "int":
            p[d.name] = trial.suggest_int(d.name, int(d.lo), int(d.hi), step=int(d.step or 1))
        else:
            p[d.name] = trial.suggest_float(d.name, d.lo, d.hi, step=d.step)
    return p


def _fold_sharpes(r: np.ndarray) -> list[float]:
    """Expanding-window per-period Sharpe at the end of each of FOLDS equal blocks."""
    out = []
    for j in range(1, FOLDS + 1):
        seg = r[: max(2, len(r) * j // FOLDS)]
        sd = float(seg.std())
        out.append(float(seg.mean()) / sd if sd > 0 else 0.0)
    return out


def _add(total: RunStats, part: RunStats) -> None:
    for name in ("computed", "skipped", "tasks", "wall_seconds", "kernel_seconds",
                 "detect_seconds", "cache_hits", "cache_misses", "detector_sets"):  # fmt: skip
        setattr(total, name, getattr(total, name) + getattr(part, name))
    total.cpus = part.cpus


def run_study(
    req: SweepRequest, store: ResultsStore, cache_dir: Path,
    on_batch: Callable[[int], None] | None = None,
) -> tuple[list[planning.Variant], RunStats, int, dict[str, Any]]:  # fmt: skip
    """Run the study up to ``req.variants`` finished trials; every trial's variants (one per
    dataset) are rows of the sweep table."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    name = req.study or f"{req.strategy}-{req.identity()}"
    storage = req.storage or journal_storage(req.data_dir / "optuna" / "journal.log")
    directions: list[Any] = ["minimize" if o in MINIMIZE else "maximize" for o in req.objectives]
    pruner = optuna.pruners.MedianPruner(n_startup_trials=5) if len(directions) == 1 else None
    study = optuna.create_study(
        study_name=name, storage=storage, directions=directions, load_if_exists=True,
        sampler=optuna.samplers.TPESampler(seed=req.seed), pruner=pruner,
    )  # fmt: skip
    target = req.variants or 100
    total = RunStats()
    rejected = 0
    done = (TrialState.COMPLETE, TrialState.PRUNED)

    def finished() -> list[Any]:
        return [
            t for t in study.get_trials(deepcopy=False, states=done) if "params" in t.user_attrs
        ]

    while (left := target - len(finished())) > 0:
        asked: list[Any] = []
        points: list[dict[str, Any]] = []
        while len(asked) < min(BATCH, left):
            trial = study.ask()
            try:
                full = req.space.model.model_validate(_suggest(trial, req.space.dims)).model_dump(
                    mode="json"
                )
            except Exception:  # Params refused the point (e.g. fast >= slow)
                study.tell(trial, state=TrialState.FAIL)
                rejected += 1
                if rejected > 10 * target:
                    raise ValueError("Optuna keeps proposing points Params refuses") from None
                continue
            trial.set_user_attr("params", full)
            asked.append(trial)
            points.append(full)
        variants = planning.plan(req.strategy, req.datasets, points, req.config)
        try:
            _add(total, run_variants(req.strategy, variants, req.config, store, cache_dir,
                                     req.progress, on_batch))  # fmt: skip
        except BaseException:
            # asked but never told: close them as failed so the study holds no phantom
            # running trials (their finished rows stay in the table's parts)
            for trial in asked:
                study.tell(trial, state=TrialState.FAIL)
            store.write_table(store.load())
            raise
        rows = store.load([v.id for v in variants])
        by_id = {r.variant_id: r for r in rows.itertuples(index=False)}
        per_point = len(req.datasets)
        for i, trial in enumerate(asked):
            mine = [by_id[v.id] for v in variants[i * per_point : (i + 1) * per_point]]
            values = [float(np.mean([getattr(r, o) for r in mine])) for o in req.objectives]
            values = [v if math.isfinite(v) else 0.0 for v in values]
            if pruner is not None:
                r = np.mean([np.asarray(x.period_returns) for x in mine], axis=0)
                pruned = False
                for step, value in enumerate(_fold_sharpes(r)):
                    trial.report(value, step)
                    if trial.should_prune():
                        pruned = True
                        break
                if pruned:
                    study.tell(trial, state=TrialState.PRUNED)
                    continue
            study.tell(trial, values if len(values) > 1 else values[0])
    ordered = [t.user_attrs["params"] for t in sorted(finished(), key=lambda t: t.number)]
    points = list({repr(sorted(p.items())): p for p in ordered[:target]}.values())
    variants = planning.plan(req.strategy, req.datasets, points, req.config)
    _add(total, run_variants(req.strategy, variants, req.config, store, cache_dir, False))
    total.skipped = len(variants) - total.computed
    info = {
        "study": name, "storage": str(req.storage or req.data_dir / "optuna" / "journal.log"),
        "trials": len(study.trials), "objectives": list(req.objectives),
        "best_trials": [{"number": t.number, "values": t.values, "params": t.params}
                        for t in study.best_trials[:5]],
    }  # fmt: skip
    return variants, total, rejected, info
