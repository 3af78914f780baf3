"""Local wall-clock time of each streamed bar, per IANA zone, without a zoneinfo call per bar.

The batch path (``periods.local_ms``) converts bar ``t`` as ``t + offset(hour start)`` when the
zone's UTC offset is the same at the first and the last millisecond of ``t``'s UTC hour, and
as ``t + offset(t)`` otherwise (a "split" hour). That rule depends on the hour alone, so the
stream can precompute it for a block of upcoming hours with the *same* vectorised function
(``periods.offsets_ms``) and look it up inside the fused njit step; only a bar beyond the block,
or inside a split hour, comes back to Python (see :func:`refresh`). The results are therefore
identical to the batch path, bit for bit.

State lives in the fused state arena as four pieces per clock (``nz`` zones):
``hour0 (nz,)`` first UTC hour of each zone's table, ``table (nz, HOURS)`` the offset per hour
(NaN for a split hour), ``ovr (nz,)`` / ``ovr_t (nz,)`` the exact offset of one bar time
(used only in a split hour).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from strategies.smc.periods import HOUR_MS, hour_offsets, offsets_ms

HOURS = 24 * 62  # ≈ two months of hours per refill: ~1 pandas conversion per 17k 5m bars


def init_pieces(nz: int) -> list[np.ndarray]:
    """Fresh clock state: empty tables (every lookup misses until the first refresh)."""
    hour0 = np.full(nz, np.nan)
    table = np.full((nz, HOURS), np.nan)
    ovr = np.full(nz, np.nan)
    ovr_t = np.full(nz, np.nan)
    return [hour0, table, ovr, ovr_t]


def refresh(
    t: float,
    zones: tuple[str, ...],
    hour0: np.ndarray,
    table: np.ndarray,
    ovr: np.ndarray,
    ovr_t: np.ndarray,
) -> None:
    """Make :func:`local_time` succeed for bar time ``t`` in every zone (Python side, rare).

    Refills a zone's table from ``t``'s hour when that hour is outside it; in a split hour
    stores the exact offset of ``t`` itself (the batch rule for split hours).
    """
    hour = math.floor(t / HOUR_MS)
    for z, zone in enumerate(zones):
        if not hour0[z] <= hour < hour0[z] + HOURS:
            starts = (hour + np.arange(HOURS, dtype=np.float64)) * HOUR_MS
            if zone == "UTC":
                table[z] = 0.0
            else:
                table[z] = hour_offsets(starts, zone)
            hour0[z] = hour
        if np.isnan(table[z, int(hour - hour0[z])]):
            ovr[z] = offsets_ms(np.array([t]), zone)[0]
            ovr_t[z] = t


@njit(cache=True, inline="always")
def local_time(
    t: float, z: int, hour0: np.ndarray, table: np.ndarray, ovr: np.ndarray, ovr_t: np.ndarray
) -> float:
    """``t`` as local wall-clock epoch ms in zone ``z``, or NaN when Python must refresh."""
    k = np.floor(t / HOUR_MS) - hour0[z]
    off = np.nan
    if k >= 0.0 and k < table.shape[1]:
        off = table[z, int(k)]
    if np.isnan(off):
        if ovr_t[z] != t:
            return np.nan
        off = ovr[z]
    return t + off
