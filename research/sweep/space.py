"""Search spaces from a strategy's pydantic ``Params``: grid, random and Latin-hypercube points.

A dimension is a numeric range (``NAME=LO:HI[:STEP]``), a list of choices (``NAME=a,b``) or a
single value (``NAME=v``). Its type and limits come from the ``Params`` field (``ge``/``le``,
``Literal``/``bool`` choices), so a range outside the model is refused before anything runs.
Without any ``--param`` the space is the model's own (``json_schema_extra`` ``sweep``/``choices``).
"""

from __future__ import annotations

import itertools
import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ValidationError

MAX_GRID = 1_000_000  # a bigger product is a typo, not a sweep


class SpaceError(ValueError):
    """Bad search-space input (the CLI turns it into exit code 2)."""


@dataclass(frozen=True)
class Dim:
    """One swept parameter: a numeric range or a list of choices."""

    name: str
    kind: Literal["int", "float", "choice"]
    lo: float = 0.0
    hi: float = 0.0
    step: float | None = None
    choices: tuple[Any, ...] = ()

    def grid(self) -> list[Any]:
        """LO, LO+STEP, ... up to and including HI (choices as given)."""
        if self.kind == "choice":
            return list(self.choices)
        if self.step is None:
            if self.kind == "int":
                return list(range(int(self.lo), int(self.hi) + 1))
            raise SpaceError(f"--param {self.name}: a grid over a float needs LO:HI:STEP")
        count = int(math.floor((self.hi - self.lo) / self.step + 1e-9)) + 1
        return [self._cast(self.lo + i * self.step) for i in range(count)]

    def from_unit(self, u: float) -> Any:
        """The point at quantile ``u`` in [0, 1) (random and Latin-hypercube draws)."""
        if self.kind == "choice":
            return self.choices[min(int(u * len(self.choices)), len(self.choices) - 1)]
        if self.step is not None:  # snap to the step lattice, every lattice point equally likely
            points = int(math.floor((self.hi - self.lo) / self.step + 1e-9)) + 1
            return self._cast(self.lo + min(int(u * points), points - 1) * self.step)
        if self.kind == "int":
            span = int(self.hi) - int(self.lo) + 1
            return int(self.lo) + min(int(u * span), span - 1)
        return float(self.lo + u * (self.hi - self.lo))

    def _cast(self, v: float) -> Any:
        return int(round(v)) if self.kind == "int" else float(round(v, 12))

    def spec(self) -> str:
        """Canonical text of the dimension (part of the sweep's identity)."""
        if self.kind == "choice":
            return ",".join(map(str, self.choices))
        step = "" if self.step is None else f":{self.step:g}"
        return f"{self.lo:g}:{self.hi:g}{step}"


def _field_kind(annotation: Any) -> tuple[str, tuple[Any, ...]]:
    if annotation is bool:
        return "choice", (False, True)
    if annotation is int:
        return "int", ()
    if annotation is float:
        return "float", ()
    if typing.get_origin(annotation) is Literal:
        return "choice", typing.get_args(annotation)
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        raise SpaceError(f"parameter type {annotation} cannot be swept")
    raise SpaceError(f"parameter type {annotation} cannot be swept")


def _limits(model: type[BaseModel], name: str) -> tuple[float, float]:
    lo, hi = -math.inf, math.inf
    for meta in model.model_fields[name].metadata:
        lo = max(lo, float(getattr(meta, "ge", -math.inf) or -math.inf))
        if getattr(meta, "gt", None) is not None:
            lo = max(lo, float(meta.gt) + 1e-12)
        hi = min(hi, float(getattr(meta, "le", math.inf) or math.inf))
        if getattr(meta, "lt", None) is not None:
            hi = min(hi, float(meta.lt) - 1e-12)
    return lo, hi


def _number(name: str, text: str, kind: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise SpaceError(f"--param {name}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise SpaceError(f"--param {name}: {text!r} is not a finite number")
    if kind == "int" and v != int(v):
        raise SpaceError(f"--param {name}: {text!r} is not an integer")
    return v


def _choice(name: str, text: str, allowed: tuple[Any, ...]) -> Any:
    for a in allowed:
        if str(a).lower() == text.strip().lower():
            return a
    raise SpaceError(f"--param {name}: {text!r} is not one of {', '.join(map(str, allowed))}")


def parse_dim(model: type[BaseModel], name: str, text: str) -> Dim:
    """``LO:HI[:STEP]``, ``a,b,c`` or ``v`` for the field ``name`` of ``model``."""
    fields = model.model_fields
    if name not in fields:
        raise SpaceError(f"unknown parameter {name!r}; known: {', '.join(sorted(fields))}")
    kind, allowed = _field_kind(fields[name].annotation)
    text = text.strip()
    if not text:
        raise SpaceError(f"--param {name}: empty value (use LO:HI[:STEP], a,b or a value)")
    if kind == "choice":
        if ":" in text:
            raise SpaceError(f"--param {name} takes choices (a,b,...), not a range")
        picked = tuple(dict.fromkeys(_choice(name, t, allowed) for t in text.split(",")))
        return Dim(name, "choice", choices=picked)
    lo_lim, hi_lim = _limits(model, name)
    if "," in text:
        vals = [_number(name, t, kind) for t in text.split(",") if t.strip()]
        if not vals:
            raise SpaceError(f"--param {name}: empty list")
        bad = [v for v in vals if not lo_lim <= v <= hi_lim]
        if bad:
            raise SpaceError(f"--param {name}: {bad[0]:g} is outside [{lo_lim:g}, {hi_lim:g}]")
        cast = [int(v) if kind == "int" else v for v in vals]
        return Dim(name, "choice", choices=tuple(dict.fromkeys(cast)))
    parts = text.split(":")
    if len(parts) == 1:
        parts = [parts[0], parts[0]]
    if len(parts) not in (2, 3) or any(not p.strip() for p in parts):
        raise SpaceError(f"--param {name}: expected LO:HI[:STEP], got {text!r}")
    lo, hi = _number(name, parts[0], kind), _number(name, parts[1], kind)
    step = _number(name, parts[2], kind) if len(parts) == 3 else None
    if hi < lo:
        raise SpaceError(f"--param {name}: inverted range {lo:g} > {hi:g}")
    if step is not None and step <= 0:
        raise SpaceError(f"--param {name}: STEP must be > 0, got {step:g}")
    if lo < lo_lim or hi > hi_lim:
        raise SpaceError(
            f"--param {name}: range {lo:g}:{hi:g} is outside the limits [{lo_lim:g}, {hi_lim:g}]"
        )
    return Dim(name, kind, lo, hi, step)  # type: ignore[arg-type]


def default_dims(model: type[BaseModel]) -> list[Dim]:
    """The model's own research space (``sweep``: [lo, hi, step]; ``choices``: [...])."""
    dims = []
    for name, f in model.model_fields.items():
        extra = f.json_schema_extra if isinstance(f.json_schema_extra, dict) else {}
        if "choices" in extra:
            dims.append(Dim(name, "choice", choices=tuple(extra["choices"])))  # type: ignore[arg-type]
        elif "sweep" in extra:
            lo, hi, step = extra["sweep"]  # type: ignore[misc,str-unpack]
            kind, _ = _field_kind(f.annotation)
            dims.append(Dim(name, kind, float(lo), float(hi), float(step)))  # type: ignore[arg-type]
    return dims


@dataclass(frozen=True)
class Space:
    """The swept dimensions of one strategy's Params."""

    model: type[BaseModel]
    dims: tuple[Dim, ...]

    @classmethod
    def parse(cls, model: type[BaseModel], items: list[str]) -> Space:
        """``--param NAME=...`` strings (none: the model's default space)."""
        if not items:
            return cls(model, tuple(default_dims(model)))
        dims: dict[str, Dim] = {}
        for item in items:
            name, sep, text = item.partition("=")
            if not sep or not name.strip():
                raise SpaceError(f"--param expects NAME=LO:HI[:STEP], got {item!r}")
            if name.strip() in dims:
                raise SpaceError(f"--param {name.strip()} given twice")
            dims[name.strip()] = parse_dim(model, name.strip(), text)
        return cls(model, tuple(dims.values()))

    def spec(self) -> dict[str, str]:
        return {d.name: d.spec() for d in self.dims}

    def grid(self) -> list[dict[str, Any]]:
        axes = [d.grid() for d in self.dims]
        size = math.prod(len(a) for a in axes)
        if size > MAX_GRID:
            raise SpaceError(
                f"grid of {size:,} points exceeds {MAX_GRID:,}: narrow the --param ranges"
            )
        return [
            dict(zip((d.name for d in self.dims), p, strict=True)) for p in itertools.product(*axes)
        ]

    def sample(self, method: str, count: int, seed: int) -> list[dict[str, Any]]:
        """``count`` draws, uniform (``random``) or one per stratum per dimension (``lhs``)."""
        if count < 1:
            raise SpaceError(f"--variants must be >= 1, got {count}")
        rng = np.random.default_rng(seed)
        k = len(self.dims)
        if method == "random":
            u = rng.random((count, k))
        elif method == "lhs":
            u = np.empty((count, k))
            for j in range(k):
                u[:, j] = (rng.permutation(count) + rng.random(count)) / count
        else:
            raise SpaceError(f"unknown sampling method {method!r}")
        return [
            {d.name: d.from_unit(float(u[i, j])) for j, d in enumerate(self.dims)}
            for i in range(count)
        ]

    def points(self, method: str, count: int | None, seed: int) -> tuple[list[dict[str, Any]], int]:
        """Valid, distinct full parameter dicts (model defaults for unswept fields) and the
        number of points the model refused (e.g. sma_cross fast >= slow)."""
        raw = self.grid() if method == "grid" else self.sample(method, count or 100, seed)
        out: dict[str, dict[str, Any]] = {}
        rejected = 0
        for p in raw:
            try:
                full = self.model.model_validate(p).model_dump(mode="json")
            except ValidationError:
                rejected += 1
                continue
            out.setdefault(repr(sorted(full.items())), full)
        return list(out.values()), rejected
