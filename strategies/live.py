"""One code path for backtest and live: a strategy kernel run over all bars or one bar at a time.

Why this shape: an SMC strategy is a pure function of causal detector output and its parameters.
Each strategy module supplies a numba kernel ``kernel(start, stop, x, p, state, out)`` that writes
signal rows ``start..stop-1`` of ``out`` from input rows ``0..i`` of ``x`` and a float64 ``state``
vector it carries from bar to bar. Batch (:func:`run_batch`) calls it once with
``(0, n)``; live (:class:`StrategyStream`) calls **the same kernel** with ``(i, i + 1)`` after each
new bar. A kernel never reads a row after ``i``, so both give identical rows (tested).

Input matrix ``x`` (float64, one row per bar): columns 0-3 = open, high, low, close, then the
detector columns the strategy names in its :class:`Spec`. Output ``out`` (float64, one row per bar):
``OUT_ENTRY`` (+1/-1/0), ``OUT_KIND`` (signals.MARKET/LIMIT), ``OUT_PRICE``, ``OUT_STOP``,
``OUT_TARGET`` — turned into :class:`strategies.signals.Signals` by :func:`to_signals`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from numba import njit
from pydantic import BaseModel, ConfigDict, Field

from strategies.signals import MARKET, Signals
from strategies.smc._fused_views import view
from strategies.smc.pipeline import bars_from_frame, detect_arrays, make_params
from strategies.smc.pipeline import concept_nodes as smc_nodes  # column -> node map
from strategies.smc.stream import SMCStream

X_OPEN, X_HIGH, X_LOW, X_CLOSE = 0, 1, 2, 3  # input matrix: OHLC first
N_BAR_COLS = 4
OUT_ENTRY, OUT_KIND, OUT_PRICE, OUT_STOP, OUT_TARGET = range(5)
N_OUT = 5
NEVER = -1e18  # "no previous entry" for cooldown arithmetic

Detections = pd.DataFrame | Mapping[str, np.ndarray]  # a detect() frame or column -> array
Kernel = Callable[[int, int, np.ndarray, np.ndarray, np.ndarray, np.ndarray], None]


@dataclass(frozen=True)
class Spec:
    """What a strategy kernel needs: detector columns, parameter vector, initial state, kernel,
    and the detector parameters those columns must be computed with."""

    columns: tuple[str, ...]
    params: npt.NDArray[np.float64]
    state: npt.NDArray[np.float64]
    kernel: Kernel
    detector_params: Mapping[str, Any]
    # how far back the kernel reads input rows: at most ``lookback`` rows before the current
    # one, and only from the bar index held in one of ``ref_columns`` on the current row
    lookback: int = 0
    ref_columns: tuple[str, ...] = ()
    # ``kernel`` on one row of a stream's arenas, compiled with the kernel as a global
    # (``on_window(i, x_arena, out_arena, base, rows, p, st)``, see :func:`windows`): cached
    # across processes, unlike the generic ``_kernel_on_window`` (each StrategyRunner is one)
    on_window: Callable[..., None] | None = None


def empty_out(n: int) -> npt.NDArray[np.float64]:
    """Output rows pre-filled with "no order" (the kernel overwrites every row it visits).

    Column-major, like the input matrix: batch fills and reads whole columns (contiguous then),
    and one memory layout means one compiled kernel for batch and stream."""
    out = np.full((n, N_OUT), np.nan, order="F")
    out[:, OUT_ENTRY] = 0.0
    out[:, OUT_KIND] = MARKET
    return out


def ohlc_frame(data: Any) -> pd.DataFrame:
    """An OHLCV frame with a UTC DatetimeIndex, from a frame indexed by time or the shipped CSV
    layout (an int64 ``timestamp`` column in epoch ms), which the CLI passes as read."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"SMC strategies need an OHLCV DataFrame, got {type(data).__name__}")
    if len(data) == 0:
        raise ValueError("no bars: the data frame is empty")
    if isinstance(data.index, pd.DatetimeIndex):
        return data
    cols = {c.lower(): c for c in data.columns}
    if "timestamp" not in cols:
        raise ValueError("OHLCV frame needs a DatetimeIndex or a `timestamp` column (epoch ms)")
    ts = data[cols["timestamp"]].to_numpy()
    idx = pd.DatetimeIndex(pd.to_datetime(np.asarray(ts, dtype=np.int64), unit="ms", utc=True))
    return data.drop(columns=[cols["timestamp"]]).set_axis(idx.rename("time"), axis=0)


def input_matrix(
    frame: pd.DataFrame,
    detections: Detections,
    columns: Sequence[str],
) -> npt.NDArray[np.float64]:
    """``x`` for the kernel: OHLC of ``frame`` then ``columns`` of ``detections`` (a ``detect()``
    frame or a mapping column -> array)."""
    n = len(frame)
    keys = detections.columns if isinstance(detections, pd.DataFrame) else detections.keys()
    missing = [c for c in columns if c not in keys]
    if missing:
        raise ValueError(f"detections lack column(s): {', '.join(missing)}")
    rows = {len(detections[c]) for c in columns}
    if rows != {n}:
        raise ValueError(f"detections have {min(rows ^ {n})} rows but the data has {n} bars")
    lower = {c.lower(): c for c in frame.columns}
    absent = [c for c in ("open", "high", "low", "close") if c not in lower]
    if absent:
        raise ValueError(f"OHLC frame is missing column(s): {', '.join(absent)}")
    x = np.empty((n, N_BAR_COLS + len(columns)), dtype=np.float64, order="F")
    for j, name in enumerate(("open", "high", "low", "close")):
        x[:, j] = frame[lower[name]].to_numpy(dtype=np.float64)
    for j, name in enumerate(columns):
        x[:, N_BAR_COLS + j] = np.asarray(detections[name], dtype=np.float64)
    return x


def detect_columns(
    frame: pd.DataFrame, columns: Sequence[str], detector_params: Mapping[str, Any]
) -> dict[str, np.ndarray]:
    """The named ``detect()`` columns, straight from the numpy core.

    Why not ``detect()``: only the concepts these columns need are computed, and no ~300-column
    frame is built; the values are the same (``tests/smc/test_frame.py``)."""
    outs = detect_arrays(
        bars_from_frame(frame), make_params(**detector_params), columns=list(columns)
    )
    where = {col: (node.name, j) for node in smc_nodes() for j, col in enumerate(node.columns)}
    return {c: outs[where[c][0]][: len(frame), where[c][1]] for c in columns}


def run_batch(
    spec: Spec, data: Any, detections: Detections | None = None
) -> npt.NDArray[np.float64]:
    """Every bar's output row; ``detections`` = a precomputed ``detect()`` frame (research caches
    them per detector parameters), else computed here with ``spec.detector_params``."""
    frame = ohlc_frame(data)
    det = (
        detect_columns(frame, spec.columns, spec.detector_params)
        if detections is None
        else detections
    )
    return run_kernel(spec, input_matrix(frame, det, spec.columns))


def run_kernel(spec: Spec, x: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The kernel over all rows of ``x`` from a fresh state."""
    out = empty_out(x.shape[0])
    spec.kernel(0, x.shape[0], x, spec.params, spec.state.copy(), out)
    return out


def to_signals(out: npt.NDArray[np.float64]) -> Signals:
    """Kernel output rows -> the Signals contract (validated)."""
    return Signals.build(
        out.shape[0],
        entry=out[:, OUT_ENTRY].astype(np.int8),
        entry_kind=out[:, OUT_KIND].astype(np.int8),
        entry_price=out[:, OUT_PRICE],
        stop=out[:, OUT_STOP],
        target=out[:, OUT_TARGET],
    )


class HistoryTooShort(ValueError):
    """A bounded stream was asked to read a row it has dropped: it fails closed (rebuild it)."""


@njit(cache=True, inline="always")
def windows(
    x_arena: np.ndarray, out_arena: np.ndarray, base: int, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Input and output views of arenas holding absolute rows ``base..base+rows-1``.

    The views start ``base`` rows before the arenas (``_fused_views.view``: a raw data pointer),
    so the kernel keeps absolute bar indices — in its state (deadlines, cooldowns) and in the
    detector references it reads — and only ever touches the rows the arenas hold.
    """
    m = x_arena.size // rows
    x = view(x_arena, -base * m, (base + rows, m))
    out = view(out_arena, -base * N_OUT, (base + rows, N_OUT))
    return x, out


@njit(cache=True)
def _kernel_on_window(
    kernel: Kernel,
    i: int,
    x_arena: np.ndarray,
    out_arena: np.ndarray,
    base: int,
    rows: int,
    p: np.ndarray,
    st: np.ndarray,
) -> None:
    """Run ``kernel`` on row ``i`` of a stream's arenas (:func:`windows`), for a Spec without
    its own ``on_window``. A kernel passed as an argument misses numba's cache: this is
    compiled again in every process (and adds an entry to the cache index each time)."""
    x, out = windows(x_arena, out_arena, base, rows)
    kernel(i, i + 1, x, p, st, out)


class StrategyStream:
    """Bar-by-bar form of a strategy: owns an :class:`SMCStream` and the kernel state.

    ``update(time_ms, o, h, l, c, v)`` appends one closed bar and returns that bar's Signals row
    (as :meth:`Signals.row` would); :meth:`push` does the same from a detector row you computed.

    ``max_rows`` bounds memory for live use: the input rows the kernel can still read
    (``spec.lookback`` back) and the last ``max_rows`` output rows are kept, older ones dropped,
    and the detectors run bounded too. The rows returned are the same; :meth:`signals` then
    covers only the rows still held. ``None`` (default) keeps everything.
    """

    def __init__(self, spec: Spec, max_rows: int | None = None) -> None:
        if max_rows is not None and max_rows < 1:
            raise ValueError(f"max_rows must be >= 1 or None, got {max_rows}")
        self.spec = spec
        self.max_rows = max_rows
        self.smc = SMCStream(max_rows=None if max_rows is None else 1, **spec.detector_params)
        # positions of the strategy's columns in the concatenated detector row
        flat = {col: j for j, col in enumerate(c for n in self.smc.nodes for c in n.columns)}
        self._take = np.array([flat[c] for c in spec.columns], dtype=np.intp)
        self._refs = np.array([spec.columns.index(c) for c in spec.ref_columns], dtype=np.intp)
        self.state = spec.state.copy()
        width = N_BAR_COLS + len(spec.columns)
        self.base = 0  # absolute index of the oldest row held
        self._broken: str | None = None
        if max_rows is None:
            self.x = np.empty((1024, width), order="F")
            self.out = empty_out(1024)
        else:
            self._keep = max(spec.lookback, max_rows - 1)  # rows kept before the current one
            self._rows = max(64, 2 * (self._keep + 1))
            self._x_arena = np.empty(self._rows * width)
            self._out_arena = np.full(self._rows * N_OUT, np.nan)
            self.x = self._x_arena.reshape(self._rows, width)
            self.out = self._out_arena.reshape(self._rows, N_OUT)
        self.n = 0

    def update(
        self, time_ms: float, o: float, h: float, lo: float, c: float, v: float = 0.0
    ) -> dict[str, float | int | bool]:
        """Feed one closed bar (open time in epoch ms) through the detectors and the kernel."""
        self._check_usable()
        self.smc.update_arrays(time_ms, o, h, lo, c, v)
        values = np.concatenate(self.smc.row())[self._take]
        try:
            return self.push(o, h, lo, c, values)
        except HistoryTooShort as exc:  # the detectors moved on without the kernel: unusable
            self._broken = str(exc)
            raise

    def push(
        self, o: float, h: float, lo: float, c: float, values: Sequence[float] | np.ndarray
    ) -> dict[str, float | int | bool]:
        """Feed one bar's OHLC and its detector ``values`` (in ``spec.columns`` order)."""
        self._check_usable()
        if len(values) != len(self.spec.columns):
            raise ValueError(
                f"expected {len(self.spec.columns)} detector values, got {len(values)}"
            )
        i = self.n
        if self.max_rows is None:
            r = self._push_unbounded(i, o, h, lo, c, values)
        else:
            r = self._push_bounded(i, o, h, lo, c, np.asarray(values, dtype=np.float64))
        self.n = i + 1
        return {
            "entry": int(r[OUT_ENTRY]),
            "entry_kind": int(r[OUT_KIND]),
            "entry_price": float(r[OUT_PRICE]),
            "stop": float(r[OUT_STOP]),
            "target": float(r[OUT_TARGET]),
            "trail": float("nan"),
            "exit_long": False,
            "exit_short": False,
        }

    def _push_unbounded(
        self, i: int, o: float, h: float, lo: float, c: float, values: Any
    ) -> np.ndarray:
        if i == self.x.shape[0]:
            x = np.empty((2 * i, self.x.shape[1]), order="F")
            x[:i] = self.x
            out = empty_out(2 * i)
            out[:i] = self.out
            self.x, self.out = x, out
        self.x[i, :N_BAR_COLS] = (o, h, lo, c)
        self.x[i, N_BAR_COLS:] = values
        self.spec.kernel(i, i + 1, self.x, self.spec.params, self.state, self.out)
        return self.out[i]

    def _push_bounded(
        self, i: int, o: float, h: float, lo: float, c: float, values: np.ndarray
    ) -> np.ndarray:
        full = i - self.base == self._rows
        base = i - self._keep if full else self.base  # the oldest row held once row i is in
        for j in self._refs:  # fail closed before anything changes
            ref = values[j]
            if 0.0 <= ref < base:
                raise HistoryTooShort(
                    f"{self.spec.columns[j]} = {int(ref)} on bar {i} is older than the rows "
                    f"kept (from {base}); build the stream with a larger lookback"
                )
        if full:  # drop what the kernel can no longer read
            kept = i - base
            shift = base - self.base
            self.x[:kept] = self.x[shift : shift + kept]
            self.out[:kept] = self.out[shift : shift + kept]
            self.base = base
        k = i - self.base
        self.x[k, :N_BAR_COLS] = (o, h, lo, c)
        self.x[k, N_BAR_COLS:] = values
        args = (i, self._x_arena, self._out_arena, self.base, self._rows)
        if self.spec.on_window is not None:
            self.spec.on_window(*args, self.spec.params, self.state)
        else:
            _kernel_on_window(self.spec.kernel, *args, self.spec.params, self.state)
        return self.out[k]

    def _check_usable(self) -> None:
        if self._broken is not None:
            raise HistoryTooShort(f"stream is unusable after an earlier error: {self._broken}")

    def nbytes(self) -> int:
        """Bytes held by the input/output rows and the detector arenas."""
        return int(self.x.nbytes + self.out.nbytes + self.smc.nbytes())

    def signals(self) -> Signals:
        """Every row still held as Signals (all rows emitted unless ``max_rows`` dropped old
        ones; then equal to the batch's rows ``base..n-1``)."""
        return to_signals(self.out[: self.n - self.base])


SIDES = {"long": 1.0, "short": -1.0, "both": 0.0}


class StrategyParams(BaseModel):
    """Parameters both SMC strategies share: side, risk geometry, cooldown and the detector
    scales they read (a sweep may vary those too; research caches detections per value)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    side: Literal["long", "short", "both"] = Field(
        default="both", json_schema_extra={"choices": ["long", "short", "both"]}
    )
    stop_atr_buffer: float = Field(
        default=0.1, ge=0.0, le=5.0, json_schema_extra={"sweep": [0.0, 1.0, 0.1]},
        description="stop distance beyond the structure, in ATR(t) units",
    )  # fmt: skip
    rr: float = Field(
        default=2.0, ge=0.5, le=20.0, json_schema_extra={"sweep": [1.0, 4.0, 0.5]},
        description="target = entry reference + rr x risk",
    )  # fmt: skip
    min_rr: float = Field(
        default=1.0, ge=0.1, le=20.0, json_schema_extra={"sweep": [0.5, 2.0, 0.5]},
        description="a structural/liquidity target is used only if it pays at least min_rr R",
    )  # fmt: skip
    trend_filter: bool = Field(
        default=False, json_schema_extra={"choices": [False, True]},
        description="trade only with the swing-scale trend (structure_swing_trend)",
    )  # fmt: skip
    cooldown: int = Field(
        default=10, ge=0, le=100_000, json_schema_extra={"sweep": [0, 50, 10]},
        description="bars after an entry during which no new entry order is emitted",
    )  # fmt: skip
    swing_length: int = Field(default=50, ge=2, le=500, json_schema_extra={"sweep": [20, 100, 10]})
    internal_length: int = Field(default=5, ge=1, le=100, json_schema_extra={"sweep": [3, 10, 1]})
    atr_period: int = Field(default=14, ge=1, le=10_000, json_schema_extra={"sweep": [7, 28, 7]})

    DETECTOR_FIELDS: ClassVar[tuple[str, ...]] = ("swing_length", "internal_length", "atr_period")

    def detector_params(self) -> dict[str, Any]:
        """The detector parameters this strategy's columns must be computed with."""
        return {k: getattr(self, k) for k in self.DETECTOR_FIELDS}


def checked_params(cls: type[StrategyParams], params: Any) -> StrategyParams:
    """``params`` as ``cls``: None -> defaults, a mapping is validated, a wrong type is an error."""
    if params is None:
        return cls()
    if isinstance(params, cls):
        return params
    if isinstance(params, Mapping):
        return cls.model_validate(dict(params))
    raise TypeError(f"params must be {cls.__module__}.Params or a mapping, got {type(params)}")


def generate_with(
    spec_of: Callable[[Any], Spec],
    cls: type[StrategyParams],
    data: Any,
    params: Any,
    detections: Detections | None,
) -> Signals:
    """A strategy module's ``generate``: checked params -> its spec -> every bar's Signals."""
    return to_signals(run_batch(spec_of(checked_params(cls, params)), data, detections))


def stream_with(
    spec_of: Callable[[Any], Spec], cls: type[StrategyParams], params: Any, max_rows: int | None
) -> StrategyStream:
    """A strategy module's ``stream``: the same spec, fed bar by bar."""
    return StrategyStream(spec_of(checked_params(cls, params)), max_rows=max_rows)
