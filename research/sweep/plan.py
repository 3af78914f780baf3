"""The variants of a sweep: (dataset, parameters) pairs with stable content-hash ids.

A variant's id hashes the strategy, the dataset's content, the full parameter set and the
cost/sizing config, so the same variant has the same id in every run (resume skips it) and a
change of data, costs or code-visible parameters gives a new one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from research.backtest.config import BacktestConfig
from research.sweep.dataset import Dataset
from strategies import registry


@dataclass(frozen=True)
class Variant:
    index: int  # position in the sweep (the table's row order)
    id: str
    dataset: Dataset
    params: dict[str, Any]
    detector: tuple[str, tuple[str, ...]] | None  # (detector params JSON, columns) or None


def _hash(obj: Any, size: int = 20) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:size]


def config_dict(config: BacktestConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")


def detector_group(module: Any, params: Mapping[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """(detector parameters as JSON, detector columns) of an SMC strategy variant, else None."""
    if not hasattr(module, "spec"):
        return None
    spec = module.spec(module.Params.model_validate(dict(params)))
    return json.dumps(dict(spec.detector_params), sort_keys=True), tuple(spec.columns)


def plan(
    strategy: str,
    datasets: Sequence[Dataset],
    points: Sequence[Mapping[str, Any]],
    config: BacktestConfig,
    start: int = 0,
) -> list[Variant]:
    """Every (dataset, point) pair, datasets outer."""
    module = registry.get(strategy)
    cfg = config_dict(config)
    groups = [detector_group(module, p) for p in points]
    out: list[Variant] = []
    for ds in datasets:
        for p, g in zip(points, groups, strict=True):
            vid = _hash({"strategy": strategy, "data": ds.digest, "params": p, "config": cfg})
            out.append(Variant(start + len(out), vid, ds, dict(p), g))
    return out


def sweep_id(
    strategy: str,
    method: str,
    spec: Mapping[str, Any],
    datasets: Sequence[Dataset],
    config: BacktestConfig,
) -> str:
    """Identity of a sweep (its directory, MLflow tag and default Optuna study name)."""
    return _hash(
        {"strategy": strategy, "method": method, "spec": dict(spec),
         "data": [d.digest for d in datasets], "config": config_dict(config)}, 12,
    )  # fmt: skip
