"""Search spaces from Params: grid bounds, seeded draws, Latin-hypercube strata, bad input."""

from __future__ import annotations

import pytest

from research.sweep.space import Space, SpaceError
from strategies import bos_orderblock, sma_cross


def test_grid_includes_hi_for_ints_and_floats() -> None:
    s = Space.parse(bos_orderblock.Params, ["rr=1:2.5:0.5", "max_wait=10:30:10"])
    pts, rejected = s.points("grid", None, 0)
    assert rejected == 0
    assert sorted({p["rr"] for p in pts}) == [1.0, 1.5, 2.0, 2.5]
    assert sorted({p["max_wait"] for p in pts}) == [10, 20, 30]
    assert len(pts) == 12
    # unswept fields keep the model's defaults
    assert {p["swing_length"] for p in pts} == {bos_orderblock.Params().swing_length}


def test_float_grid_has_no_representation_drift() -> None:
    pts, _ = Space.parse(bos_orderblock.Params, ["stop_atr_buffer=0:0.3:0.1"]).points(
        "grid", None, 0
    )
    assert [p["stop_atr_buffer"] for p in pts] == [0.0, 0.1, 0.2, 0.3]


def test_model_rules_drop_points_and_are_counted() -> None:
    pts, rejected = Space.parse(sma_cross.Params, ["fast=5:15:5", "slow=10:20:10"]).points(
        "grid", None, 0
    )
    assert rejected == 2  # (10, 10), (15, 10): fast must be < slow
    assert all(p["fast"] < p["slow"] for p in pts) and len(pts) == 4


@pytest.mark.parametrize("method", ["random", "lhs"])
def test_draws_are_seeded_and_inside_the_range(method: str) -> None:
    s = Space.parse(bos_orderblock.Params, ["rr=1:4", "max_wait=5:50", "scale=internal,swing"])
    a, _ = s.points(method, 40, 7)
    b, _ = s.points(method, 40, 7)
    c, _ = s.points(method, 40, 8)
    assert a == b and a != c
    assert all(1.0 <= p["rr"] <= 4.0 and 5 <= p["max_wait"] <= 50 for p in a)
    assert {p["scale"] for p in a} == {"internal", "swing"}


def test_lhs_puts_one_point_in_each_stratum() -> None:
    n = 20
    pts = Space.parse(bos_orderblock.Params, ["rr=1:3"]).sample("lhs", n, 3)
    strata = sorted(int((p["rr"] - 1.0) / 2.0 * n) for p in pts)
    assert strata == list(range(n))


def test_step_snaps_draws_to_the_lattice() -> None:
    pts = Space.parse(bos_orderblock.Params, ["rr=1:3:0.5"]).sample("random", 50, 1)
    assert {p["rr"] for p in pts} <= {1.0, 1.5, 2.0, 2.5, 3.0}


def test_no_param_uses_the_models_own_space() -> None:
    s = Space.parse(sma_cross.Params, [])
    assert {d.name for d in s.dims} == {"fast", "slow"}
    pts, _ = s.points("grid", None, 0)
    assert len(pts) == 1000  # sweep [5, 50, 5] x [60, 555, 5]


@pytest.mark.parametrize(
    ("item", "needle"),
    [
        ("nope=1:2", "unknown parameter"),
        ("rr=3:1", "inverted"),
        ("rr=", "empty"),
        ("rr=1:", "LO:HI"),
        ("rr=0.1:3", "outside the limits"),
        ("max_wait=1:200000", "outside the limits"),
        ("rr=1:2:0", "STEP must be > 0"),
        ("max_wait=1.5:4", "not an integer"),
        ("scale=internal,weekly", "not one of"),
        ("scale=1:2", "choices"),
        ("rr", "NAME=LO:HI"),
    ],
)
def test_bad_input_names_the_problem(item: str, needle: str) -> None:
    with pytest.raises(SpaceError, match=needle):
        Space.parse(bos_orderblock.Params, [item])


def test_float_grid_without_step_is_refused() -> None:
    with pytest.raises(SpaceError, match="STEP"):
        Space.parse(bos_orderblock.Params, ["rr=1:2"]).points("grid", None, 0)
