"""Borrowed C-contiguous float64 views into an arena, for the fused streaming step.

Why: ``arena[a:b].reshape(shape)`` in numba costs a bounds fix-up, a reshape check and two
reference-count updates per view; the fused step builds ~30 views per bar. ``view`` builds the
array struct directly (data pointer + shape + C strides) with no meminfo, so no reference
counting happens at all. The view is *borrowed*: valid only while the arena it points into is
alive, which holds for the duration of the njit call that receives the arena as an argument.
Callers guarantee ``off + prod(shape) <= arena.size`` (the fused layout is built so).

``strided_view`` is the same with explicit strides (in elements): an ``A``-layout array, so one
function can hand out a row-major block (the stream) or a column-major one (``detect()``'s
chunk arena, see ``_fused_batch``) with a single numba type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np
from numba.core import cgutils, types
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


def _view(typingctx: Any, arena: Any, off: Any, shape: Any) -> Any:
    """``arena[off : off + prod(shape)].reshape(shape)`` for a 1-D C float64 ``arena``,
    without bounds checks or reference counting (see the module docstring)."""
    if not (
        isinstance(arena, types.Array)
        and arena.ndim == 1
        and arena.layout == "C"
        and arena.dtype == types.float64
        and isinstance(off, types.Integer)
        and isinstance(shape, types.UniTuple)
        and isinstance(shape.dtype, types.Integer)
    ):
        return None
    ndim = shape.count
    ret = types.Array(types.float64, ndim, "C")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        src = make_array(sig.args[0])(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        offset = context.cast(builder, args[1], sig.args[1], types.intp)
        dims = [
            context.cast(builder, d, shape.dtype, types.intp)
            for d in cgutils.unpack_tuple(builder, args[2], ndim)
        ]
        itemsize = context.get_constant(types.intp, 8)
        strides = [itemsize]
        for d in reversed(dims[1:]):
            strides.insert(0, builder.mul(strides[0], d))
        out = make_array(ret)(context, builder)
        populate_array(
            out,
            data=builder.gep(src.data, [offset]),
            shape=cgutils.pack_array(builder, dims, intp),
            strides=cgutils.pack_array(builder, strides, intp),
            itemsize=itemsize,
            meminfo=None,
        )
        return out._getvalue()

    return ret(arena, off, shape), codegen


view = cast(Callable[[np.ndarray, int, tuple[int, ...]], np.ndarray], intrinsic(_view))


def _strided_view(typingctx: Any, arena: Any, off: Any, shape: Any, strides: Any) -> Any:
    """A borrowed ``A``-layout view: element ``idx`` at ``arena[off + sum(idx * strides)]``
    (strides in elements, ``off`` may be negative as long as every index used lands inside)."""
    if not (
        isinstance(arena, types.Array)
        and arena.ndim == 1
        and arena.layout == "C"
        and arena.dtype == types.float64
        and isinstance(off, types.Integer)
        and isinstance(shape, types.UniTuple)
        and isinstance(shape.dtype, types.Integer)
        and isinstance(strides, types.UniTuple)
        and isinstance(strides.dtype, types.Integer)
        and strides.count == shape.count
    ):
        return None
    ndim = shape.count
    ret = types.Array(types.float64, ndim, "A")

    def codegen(context: Any, builder: Any, sig: Any, args: Any) -> Any:
        src = make_array(sig.args[0])(context, builder, args[0])
        intp = context.get_value_type(types.intp)
        offset = context.cast(builder, args[1], sig.args[1], types.intp)
        dims = [
            context.cast(builder, d, shape.dtype, types.intp)
            for d in cgutils.unpack_tuple(builder, args[2], ndim)
        ]
        itemsize = context.get_constant(types.intp, 8)
        steps = [
            builder.mul(context.cast(builder, d, strides.dtype, types.intp), itemsize)
            for d in cgutils.unpack_tuple(builder, args[3], ndim)
        ]
        out = make_array(ret)(context, builder)
        populate_array(
            out,
            data=builder.gep(src.data, [offset]),
            shape=cgutils.pack_array(builder, dims, intp),
            strides=cgutils.pack_array(builder, steps, intp),
            itemsize=itemsize,
            meminfo=None,
        )
        return out._getvalue()

    return ret(arena, off, shape, strides), codegen


strided_view = cast(
    Callable[[np.ndarray, int, tuple[int, ...], tuple[int, ...]], np.ndarray],
    intrinsic(_strided_view),
)
