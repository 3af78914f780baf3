"""Premium / discount / equilibrium and the OTE zone, causally (smc.md §3.9).

Dealing range at ``t`` = ``[lo, hi]``, the latest swing low and high confirmed at or before ``t``
(feed it the *swing-scale* swings ``out``). ``eq = (hi + lo) / 2``; the close is in
*equilibrium* when ``|c - eq| <= eps * (hi - lo)``, else *premium* above, *discount* below.
``zone_position`` is a float column: +1 premium, 0 equilibrium, -1 discount, NaN without a
range (no high or low yet, or ``hi <= lo``).

OTE of the current leg, known once both leg ends are confirmed: an *up-leg* lo→hi when the high's
pivot is later than the low's (``zone_leg = +1``), levels ``hi - f * (hi - lo)``; a *down-leg*
(``-1``) levels ``lo + f * (hi - lo)``; ``f`` = shallow / mid / deep fractions (0.618 / 0.705 /
0.786). Both pivots on one bar (an outside bar): no leg (0), no OTE. ``zone_in_ote`` = 1 when the
close lies between the shallow and the deep level (inclusive).

Stateless: row ``t`` depends on bar ``t`` and swing row ``t`` only.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from pydantic import BaseModel, ConfigDict, Field, model_validator

from strategies.smc import swings as sw
from strategies.smc._common import CLOSE, NO_NRT, check_bars, empty_out

COLUMNS = (
    "zone_hi", "zone_hi_ref", "zone_lo", "zone_lo_ref", "zone_eq", "zone_pct", "zone_position",
    "zone_leg", "zone_ote_shallow", "zone_ote_mid", "zone_ote_deep", "zone_in_ote",
)  # fmt: skip
INT_COLUMNS = frozenset({"zone_hi_ref", "zone_lo_ref", "zone_leg", "zone_in_ote"})
HI, HI_REF, LO, LO_REF, EQ, PCT, POSITION, LEG, OTE_SHALLOW, OTE_MID, OTE_DEEP, IN_OTE = range(12)


class ZoneParams(BaseModel):
    """Premium/discount and OTE parameters."""

    model_config = ConfigDict(frozen=True)

    zone_equilibrium_band: float = Field(
        0.025, ge=0.0, le=0.5, description="equilibrium half-width as a fraction of the range"
    )
    zone_ote_shallow: float = Field(0.618, gt=0.0, lt=1.0, description="shallow OTE fraction")
    zone_ote_mid: float = Field(0.705, gt=0.0, lt=1.0, description="middle OTE fraction")
    zone_ote_deep: float = Field(0.786, gt=0.0, lt=1.0, description="deep OTE fraction")

    @model_validator(mode="after")
    def _ordered(self) -> ZoneParams:
        if not self.zone_ote_shallow <= self.zone_ote_mid <= self.zone_ote_deep:
            raise ValueError("OTE fractions must satisfy shallow <= mid <= deep")
        return self


@njit(cache=True, inline="always")
def _step(
    i: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    eps: float,
    f_shallow: float,
    f_mid: float,
    f_deep: float,
    out: np.ndarray,
) -> None:
    hi, lo = swing_out[i, sw.LAST_H], swing_out[i, sw.LAST_L]
    hi_ref, lo_ref = swing_out[i, sw.LAST_H_REF], swing_out[i, sw.LAST_L_REF]
    out[i, HI] = hi
    out[i, HI_REF] = hi_ref
    out[i, LO] = lo
    out[i, LO_REF] = lo_ref
    for col in (EQ, PCT, POSITION, OTE_SHALLOW, OTE_MID, OTE_DEEP):
        out[i, col] = np.nan
    out[i, LEG] = 0.0
    out[i, IN_OTE] = 0.0
    rng = hi - lo
    if not rng > 0.0:  # no range yet (NaN) or degenerate
        return
    c = bars[i, CLOSE]
    eq = 0.5 * (hi + lo)
    out[i, EQ] = eq
    out[i, PCT] = (c - lo) / rng * 100.0
    band = eps * rng
    out[i, POSITION] = 1.0 if c > eq + band else (-1.0 if c < eq - band else 0.0)
    if hi_ref == lo_ref:
        return
    if hi_ref > lo_ref:  # up-leg lo -> hi, retracement down into the OTE
        s, m, d = hi - f_shallow * rng, hi - f_mid * rng, hi - f_deep * rng
        inside = d <= c <= s
        out[i, LEG] = 1.0
    else:
        s, m, d = lo + f_shallow * rng, lo + f_mid * rng, lo + f_deep * rng
        inside = s <= c <= d
        out[i, LEG] = -1.0
    out[i, OTE_SHALLOW] = s
    out[i, OTE_MID] = m
    out[i, OTE_DEEP] = d
    out[i, IN_OTE] = 1.0 if inside else 0.0


@njit(cache=True, **NO_NRT)
def step(
    i: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    eps: float,
    f_shallow: float,
    f_mid: float,
    f_deep: float,
    out: np.ndarray,
) -> None:
    """Write row ``i`` from bar ``i`` and swing row ``i``."""
    _step(i, bars, swing_out, eps, f_shallow, f_mid, f_deep, out)


@njit(cache=True, **NO_NRT)
def rows(
    i0: int,
    i1: int,
    bars: np.ndarray,
    swing_out: np.ndarray,
    eps: float,
    f_shallow: float,
    f_mid: float,
    f_deep: float,
    out: np.ndarray,
) -> None:
    """``step`` for rows ``i0..i1-1`` in one call (the batch runs a chunk at a time): a call per
    row passes every array descriptor again and spills the loop's registers (see liquidity.rows)."""
    for i in range(i0, i1):
        _step(i, bars, swing_out, eps, f_shallow, f_mid, f_deep, out)


@njit(cache=True, nogil=True, **NO_NRT)
def _run(
    bars: np.ndarray,
    swing_out: np.ndarray,
    eps: float,
    f_shallow: float,
    f_mid: float,
    f_deep: float,
    out: np.ndarray,
) -> None:
    for i in range(bars.shape[0]):
        _step(i, bars, swing_out, eps, f_shallow, f_mid, f_deep, out)


def _args(p: ZoneParams) -> tuple[float, float, float, float]:
    return p.zone_equilibrium_band, p.zone_ote_shallow, p.zone_ote_mid, p.zone_ote_deep


def run(bars: np.ndarray, swing_out: np.ndarray, params: ZoneParams) -> np.ndarray:
    """Batch form: the same ``step`` as the stream, in one njit loop."""
    check_bars(bars, ("swing_out", swing_out, len(sw.COLUMNS)))
    out = empty_out(bars.shape[0], len(COLUMNS))  # step writes every column of every row
    _run(bars, swing_out, *_args(params), out)
    return out
