"""Batch entry points of the causal SMC core: ``detect(df, **params)`` and ``detect_arrays``.

Row ``t`` of the result holds what is known at the close of bar ``t`` for every concept, so
``detect(df.iloc[:t+1]) == detect(df).iloc[:t+1]`` (the prefix property) and a stream fed bar
by bar (``stream.SMCStream``) produces the same rows. The concepts are wired as a small
dependency graph of nodes (``concept_nodes``); each node runs one concept module's batch
``run`` on the shared bar array and the outputs of the nodes it depends on, independent nodes
on separate threads (``_schedule``). (The module is called ``pipeline`` so the
package attribute ``strategies.smc.detect`` is the function, never this module.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from strategies.smc import (
    _fused_batch,
    atr,
    fvg,
    liquidity,
    order_blocks,
    periods,
    retracements,
    sessions,
    structure,
    swings,
    zones,
)
from strategies.smc._common import BAR_FIELDS, TIME, pack_bars
from strategies.smc._frame import FrameLayout
from strategies.smc._schedule import Task, resolve_threads, run_graph

REQUIRED = ("open", "high", "low", "close")
_TICKS_PER_MS = {"ms": 1, "us": 1_000, "ns": 1_000_000}


class CoreParams(BaseModel):
    """Scales of the two swing instances every other concept builds on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    swing_length: int = Field(
        50, ge=2, le=500, description="Swing scale: bars left and right of a swing pivot."
    )
    internal_length: int = Field(
        5, ge=1, le=100, description="Internal scale: bars left and right of an internal pivot."
    )


@dataclass(frozen=True)
class Node:
    """One concept instance in the graph.

    ``batch(bars, deps, params) -> out``; the streaming form (``SMCStream``) calls the same
    concept ``step`` functions through ``fused.py``. ``columns`` are the output names in
    detect()'s frame (two instances of one concept carry different names).
    """

    name: str
    columns: Sequence[str]
    int_columns: frozenset[str]
    deps: tuple[str, ...]
    batch: Callable[[np.ndarray, list[np.ndarray], Any], np.ndarray]


def _swing_node(name: str, prefix: str, length_field: str) -> Node:
    return Node(
        name=name,
        columns=[prefix + c for c in swings.COLUMNS],
        int_columns=frozenset(prefix + c for c in swings.INT_COLUMNS),
        deps=(),
        batch=lambda bars, deps, p: swings.run(
            bars, getattr(p, length_field), getattr(p, length_field)
        ),
    )


def _structure_params(p: Any) -> structure.StructureParams:
    return structure.StructureParams(
        structure_internal_length=p.internal_length,
        structure_swing_length=p.swing_length,
        structure_wick_break=p.structure_wick_break,
    )


def _internal_structure_batch(bars: np.ndarray, deps: list[np.ndarray], p: Any) -> np.ndarray:
    out = structure.run(bars, deps[0], _structure_params(p))
    return structure.filter_internal_inplace(out, deps[1]) if p.structure_filter_internal else out


def _params_class(module: ModuleType) -> type[BaseModel]:
    """A concept's parameter model: ``Params`` or the one ``…Params`` class it defines."""
    if hasattr(module, "Params"):
        return module.Params  # type: ignore[no-any-return]
    found = [
        v for k, v in vars(module).items()
        if k.endswith("Params") and isinstance(v, type) and issubclass(v, BaseModel)
        and v.__module__ == module.__name__
    ]  # fmt: skip
    if len(found) != 1:
        raise RuntimeError(f"{module.__name__} must define exactly one Params model")
    return found[0]


def _module_params(module: ModuleType, p: Any) -> BaseModel:
    """The module's own params built from the flat SMCParams (runs its validators)."""
    cls = _params_class(module)
    return cls(**{k: getattr(p, k) for k in cls.model_fields})


def _module_node(
    name: str,
    module: ModuleType,
    deps: tuple[str, ...] = (),
    scale: str | None = None,
) -> Node:
    """Node for a module with ``COLUMNS``, ``INT_COLUMNS``, params and ``run``;
    ``scale`` names per-scale columns through the module's ``column_names(scale)``."""
    columns = list(module.column_names(scale) if scale else module.COLUMNS)
    ints = frozenset(module.int_column_names(scale) if scale else module.INT_COLUMNS)
    return Node(
        name=name,
        columns=columns,
        int_columns=ints,
        deps=deps,
        batch=lambda bars, dep_outs, p: module.run(bars, *dep_outs, _module_params(module, p)),
    )


# measured batch time per node (ms per 1M bars): only the order the scheduler prefers
NODE_COST = {
    "swings": 40, "int_swings": 35, "atr": 20, "structure_swing": 35, "structure_internal": 55,
    "ob_swing": 75, "ob_internal": 150, "fvg": 200, "periods": 45, "sessions": 85,
    "liquidity": 140, "retracements": 35, "zones": 60,
}  # fmt: skip


def concept_nodes() -> list[Node]:
    """The concept graph in dependency order (later nodes may read earlier outputs)."""
    return [
        _swing_node("swings", "", "swing_length"),
        _swing_node("int_swings", "int_", "internal_length"),
        _module_node("atr", atr),
        Node(
            "structure_swing",
            structure.column_names("swing"),
            structure.int_column_names("swing"),
            ("swings",),
            lambda bars, deps, p: structure.run(bars, deps[0], _structure_params(p)),
        ),
        Node(
            "structure_internal",
            structure.column_names("internal"),
            structure.int_column_names("internal"),
            ("int_swings", "structure_swing"),
            _internal_structure_batch,
        ),
        _module_node("ob_swing", order_blocks, ("structure_swing",), scale="swing"),
        _module_node("ob_internal", order_blocks, ("structure_internal",), scale="internal"),
        _module_node("fvg", fvg, ("atr",)),
        _module_node("periods", periods),
        _module_node("sessions", sessions),
        _module_node("liquidity", liquidity, ("int_swings", "atr", "periods")),
        _module_node("retracements", retracements, ("swings",)),
        _module_node("zones", zones, ("swings",)),
    ]


class SMCParamsBase(CoreParams):
    structure_wick_break: bool = Field(
        False, description="BOS/CHoCH on the wick (high/low) instead of the close."
    )
    structure_filter_internal: bool = Field(
        True, description="Drop an internal break of the same level as a swing break on that bar."
    )


# concept modules whose ``Params`` fields join the flat SMCParams namespace
PARAM_MODULES: tuple[ModuleType, ...] = (
    atr, order_blocks, fvg, periods, sessions, liquidity, retracements, zones,
)  # fmt: skip


def _merged_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for module in PARAM_MODULES:
        for fname, info in _params_class(module).model_fields.items():
            if fname in fields or fname in SMCParamsBase.model_fields:
                raise RuntimeError(f"SMC parameter {fname!r} is declared twice")
            fields[fname] = (info.annotation, info)
    return fields


SMCParams: type[SMCParamsBase] = create_model(  # type: ignore[call-overload]
    "SMCParams",
    __base__=SMCParamsBase,
    __doc__="All detector parameters (one flat namespace; names are unique per concept).",
    **_merged_fields(),
)


def make_params(**params: Any) -> SMCParamsBase:
    """Validate keyword parameters; unknown names and out-of-range values raise ValueError.
    The defaults are validated once and shared (the model is frozen): ~0.25 ms of every
    ``detect(df)`` call without parameters."""
    if not params:
        return _default_params()
    return _validated(params)


@cache
def _default_params() -> SMCParamsBase:
    return _validated({})


def _validated(params: dict[str, Any]) -> SMCParamsBase:
    known = set(SMCParams.model_fields)
    unknown = sorted(set(params) - known)
    if unknown:
        raise ValueError(
            f"unknown SMC parameter(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    try:
        p = SMCParams(**params)
        for module in PARAM_MODULES:  # cross-field rules of each concept (e.g. sessions)
            _module_params(module, p)
        return p
    except ValidationError as err:
        msgs = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise ValueError(f"invalid SMC parameters: {msgs}") from None


def bars_from_frame(df: pd.DataFrame) -> np.ndarray:
    """Validate an OHLCV frame and pack it as the (n, 6) bar array.

    The index must be a DatetimeIndex (naive = UTC), strictly increasing, with finite prices.
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"detect() needs a pandas DataFrame, got {type(df).__name__}")
    cols = {c.lower(): c for c in df.columns}
    missing = [c for c in REQUIRED if c not in cols]
    if missing:
        raise ValueError(f"OHLC frame is missing column(s): {', '.join(missing)}")
    if not isinstance(df.index, pd.DatetimeIndex):
        raise ValueError("OHLC frame needs a DatetimeIndex of bar open times")
    idx = df.index if df.index.tz is not None else df.index.tz_localize("UTC")
    n = len(df)

    def col(name: str) -> np.ndarray:
        return np.ascontiguousarray(df[cols[name]].to_numpy(dtype=np.float64))

    vol = col("volume") if "volume" in cols else np.zeros(n)
    bars = np.empty((n, BAR_FIELDS), dtype=np.float64)
    per_ms = _TICKS_PER_MS.get(idx.unit, 0)
    o, h, lo, c = (col(name) for name in REQUIRED)
    inc, finite, exact = pack_bars(o, h, lo, c, vol, idx.asi8, max(per_ms, 1), bars)
    if n > 1 and not inc:
        raise ValueError("bar times must be strictly increasing (sort and de-duplicate first)")
    if not finite:
        bad = int((~np.isfinite(bars[:, :4])).any(axis=1).sum())
        raise ValueError(f"OHLC frame has {bad} row(s) with NaN or infinite prices")
    if not (exact and per_ms):  # times that are not whole ms: pandas' own conversion
        bars[:, TIME] = idx.as_unit("ms").asi8.astype(np.float64)
    return bars


def select_nodes(columns: Iterable[str] | None = None) -> list[Node]:
    """The nodes that produce ``columns`` plus everything they depend on, in graph order
    (all nodes for ``None``). Unknown column names raise ValueError."""
    nodes = concept_nodes()
    if columns is None:
        return nodes
    wanted = list(columns)
    owner = {c: node.name for node in nodes for c in node.columns}
    unknown = [c for c in wanted if c not in owner]
    if unknown:
        raise ValueError(f"unknown detect() column(s): {', '.join(unknown)}")
    need = {owner[c] for c in wanted}
    for node in reversed(nodes):  # graph order: a node's deps come before it
        if node.name in need:
            need.update(node.deps)
    return [node for node in nodes if node.name in need]


def detect(
    df: pd.DataFrame,
    columns: Iterable[str] | None = None,
    threads: int | None = None,
    **params: Any,
) -> pd.DataFrame:
    """Every causal SMC concept for every bar of ``df``.

    Returns one row per input bar (same index). Row ``t`` uses bars ``0..t`` only: events sit
    on the bar at which they became known and carry ``*_ref`` pointing at the bar they are
    about. Levels are float64 (NaN for none); bar references int32 (int64 past 2**31 - 1 bars;
    -1 for none); kinds / directions int8; event counts int16 (pool sizes int32); 0/1 states
    bool (``_frame.column_dtype``). The frame is a few typed blocks the concept steps' rows are
    converted into chunk by chunk (``_fused_batch``): no full-length float64 intermediate.
    ``columns`` limits the work to the concepts those columns need (the frame then holds every
    column of those concepts; values are the same as in the full frame). ``threads``: as in
    :func:`detect_arrays`.
    """
    p = make_params(**params)
    k = resolve_threads(threads)
    bars = bars_from_frame(df)
    nodes = select_nodes(columns)
    layout = FrameLayout.cached(nodes, bars.shape[0])
    blocks = layout.alloc(bars.shape[0])
    _fused_batch.fill(bars, p, layout, blocks, {n.name: n.deps for n in nodes}, k)
    return layout.frame(blocks, df.index)


def detect_arrays(
    bars: np.ndarray,
    p: SMCParamsBase,
    threads: int | None = None,
    columns: Iterable[str] | None = None,
) -> dict[str, np.ndarray]:
    """Numpy core of :func:`detect`: each node's float64 output array, keyed by node name.

    Independent nodes run on ``threads`` cores at once (default: ``_schedule.default_threads``,
    i.e. what the caller set with ``set_default_threads``, else every usable core); the arrays
    are identical for any thread count. ``columns`` limits the
    work to the nodes those columns need (see :func:`select_nodes`).
    """
    nodes = select_nodes(columns)
    return _run_nodes(nodes, bars, p, resolve_threads(threads))


def _run_nodes(
    nodes: list[Node],
    bars: np.ndarray,
    p: SMCParamsBase,
    threads: int,
    after: Callable[[str, np.ndarray], None] | None = None,
    keep: bool = True,
) -> dict[str, np.ndarray]:
    """Every node's batch output; ``after(name, out)`` runs on the node's thread when it ends
    (with ``keep=False`` outputs are freed once read, see ``run_graph``)."""

    def task(node: Node) -> Callable[..., np.ndarray]:
        def run(*deps: np.ndarray) -> np.ndarray:
            out = node.batch(bars, list(deps), p)
            if after is not None:
                after(node.name, out)
            return out

        return run

    tasks = [Task(n.name, n.deps, task(n), NODE_COST.get(n.name, 100.0)) for n in nodes]
    return run_graph(tasks, threads, keep=keep)
