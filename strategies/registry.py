"""Strategy name -> module. A strategy module exposes `NAME`, a pydantic `Params` model and
`generate(data, params) -> Signals`; the CLI and research sweeps look strategies up here."""

from __future__ import annotations

import importlib
from types import ModuleType

# name -> importable module path; the SMC strategies register here when they land
STRATEGIES: dict[str, str] = {
    "sma_cross": "strategies.sma_cross",
    "liquidity_sweep": "strategies.liquidity_sweep",
    "bos_orderblock": "strategies.bos_orderblock",
}


def names() -> list[str]:
    return sorted(STRATEGIES)


def get(name: str) -> ModuleType:
    """The strategy module, or KeyError listing the known names."""
    try:
        path = STRATEGIES[name]
    except KeyError:
        raise KeyError(f"unknown strategy {name!r}; known: {', '.join(names())}") from None
    module = importlib.import_module(path)
    for attr in ("Params", "generate"):
        if not hasattr(module, attr):
            raise TypeError(f"strategy module {path} lacks `{attr}`")
    return module
