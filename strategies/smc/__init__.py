"""Causal Smart Money Concepts detectors (no look-ahead; see docs/smc.md).

``detect(df, **params)`` is the pandas entry point; ``SMCStream`` the bar-by-bar form.
``strategies.smc.compat`` reproduces the reference package *with* its look-ahead, for
analysis only — never for trading.
"""

from strategies.smc.detect import (
    SMCParams,
    SMCStream,
    bars_from_frame,
    detect,
    detect_arrays,
    make_params,
)

__all__ = [
    "SMCParams",
    "SMCStream",
    "bars_from_frame",
    "detect",
    "detect_arrays",
    "make_params",
]
