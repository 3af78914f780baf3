"""Causal Smart Money Concepts detectors (no look-ahead; see docs/smc.md).

``detect(df, **params)`` is the pandas entry point; ``SMCStream`` the bar-by-bar form.
``strategies.smc.compat`` reproduces the reference package *with* its look-ahead, for
analysis only — never for trading.

The names below load ``strategies.smc.pipeline`` / ``stream`` (and with them every concept kernel)
on first use, so importing one concept module or ``compat`` stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from strategies.smc._frame_pool import set_frame_cache
    from strategies.smc._schedule import set_default_threads
    from strategies.smc.pipeline import (
        SMCParams,
        bars_from_frame,
        detect,
        detect_arrays,
        make_params,
    )
    from strategies.smc.stream import SMCStream

__all__ = [
    "SMCParams",
    "SMCStream",
    "bars_from_frame",
    "detect",
    "detect_arrays",
    "make_params",
    "set_default_threads",
    "set_frame_cache",
]


def __getattr__(name: str) -> Any:
    if name == "SMCStream":
        return import_module("strategies.smc.stream").SMCStream
    if name == "set_default_threads":
        return import_module("strategies.smc._schedule").set_default_threads
    if name == "set_frame_cache":
        return import_module("strategies.smc._frame_pool").set_frame_cache
    if name in __all__:
        return getattr(import_module("strategies.smc.pipeline"), name)
    raise AttributeError(f"module 'strategies.smc' has no attribute {name!r}")
