"""`fractal kill [--flatten]` on the paper venue (the loopback simulator a live run serves):
every order canceled, with --flatten every position closed by journaled reduce-only orders,
flat confirmed from the venue, the `kill` breaker tripped first."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from actors.messages import make_cloid
from actors.state import journal_path
from actors.state.breakers import read_states
from actors.state.journal import Journal
from actors.venues.base import OrderRequest
from cluster.cli import app
from tests.live.helpers import paper

runner = CliRunner()


def _book(venue: Any) -> tuple[list[Any], dict[str, float]]:
    return venue.open_orders(), {p.symbol: p.size for p in venue.positions() if p.size}


def _open_position_and_orders(venue: Any) -> None:
    """A long with its reduce-only stop, and a resting limit entry far below the market."""
    mid = float(venue._mid("BTC"))

    def req(tag: str, **kw: Any) -> OrderRequest:
        return OrderRequest(cloid=make_cloid("test", "BTC", tag, "x"), symbol="BTC", **kw)

    venue.place(req("long", side="buy", size=0.002, kind="market"))
    venue.place(req("stop", side="sell", size=0.002, kind="stop_loss",
                    trigger_price=round(mid * 0.9), reduce_only=True))  # fmt: skip
    venue.place(req("rest", side="buy", size=0.001, kind="limit", price=round(mid * 0.8)))
    orders, pos = _book(venue)
    assert len(orders) == 2 and pos["BTC"] == pytest.approx(0.002)


@pytest.mark.parametrize("flatten", [True, False])
def test_kill_on_the_paper_venue(flatten: bool, _isolated_data_dir: Path) -> None:
    from actors.venues.factory import make_venue

    with paper(_isolated_data_dir, speed=1.0) as px:  # state dir = FRACTAL_DATA_DIR/paper
        venue = make_venue(px.spec)
        try:
            _open_position_and_orders(venue)
            res = runner.invoke(app, ["kill", *(["--flatten"] if flatten else []),
                                      "--reason", "drill"])  # fmt: skip
            assert res.exit_code == 0, res.output
            assert "venue confirms: no open orders" in res.output
            orders, pos = _book(venue)
            assert orders == []
            assert pos == ({} if flatten else {"BTC": pytest.approx(0.002)})
            assert read_states(_isolated_data_dir)["kill"].state == "tripped"
            sells = [f for f in venue.fills_since(0) if f.side == "sell"]
            if flatten:  # journaled before sending, reduce-only, answered by the venue
                assert sum(f.size for f in sells) == pytest.approx(0.002)
                with Journal(journal_path(_isolated_data_dir), check=False) as j:
                    sent = [j.intent(f.cloid) for f in sells if f.cloid]
                assert sent and all(i is not None and i.reduce_only for i in sent)
            else:
                assert sells == []  # without --flatten nothing is sent, only cancels
        finally:
            venue.close()


def test_kill_with_a_stopped_paper_venue_says_so(_isolated_data_dir: Path) -> None:
    with paper(_isolated_data_dir, speed=1.0):
        pass  # a saved simulator state, nobody serving it
    res = runner.invoke(app, ["kill", "--flatten"])
    assert res.exit_code == 1 and "paper venue is not running" in res.output
    assert read_states(_isolated_data_dir)["kill"].state == "tripped"  # still halts the next run
