"""The Executor asks before every order when confirmation is required (mainnet without
AUTO_CONFIRM): CONFIRM places, anything else or silence skips; requests and answers are logged."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from actors.confirm import ConfirmAnswer, ConfirmDesk
from tests.live.graph import order_graph
from tests.live.helpers import entry_intent, venue_fill_size, wait_for

pytestmark = pytest.mark.usefixtures("ray_session")


def _answer_with(desk: Any, text: str | None) -> threading.Thread:
    import ray

    def run() -> None:
        req = wait_for(lambda: ray.get(desk.next_pending.remote(0.2)), 60, "a confirm request")
        if text is not None:
            desk.answer.remote(ConfirmAnswer(request_id=req.request_id,
                                             confirmed=text == "CONFIRM", answer=text))  # fmt: skip

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def test_confirm_places_other_answers_and_silence_skip(tmp_path: Path) -> None:
    import ray

    desk = ray.remote(ConfirmDesk).options(num_cpus=0, max_concurrency=4).remote()
    with order_graph(tmp_path, desk=desk, require_confirm=True, confirm_timeout_s=3.0) as g:
        mid = g.mid()
        for tag, text in (("no", "yes"), ("silent", None)):
            intent = entry_intent("BTC", "buy", 0.01, mid, tag)
            t = _answer_with(desk, text)
            ray.get(g.executor.submit.remote(intent))
            t.join(30)
            assert ray.get(g.keeper.intent.remote(intent.cloid)) is None  # skipped: not journaled
            assert venue_fill_size(g.venue, intent.cloid) == 0.0
        intent = entry_intent("BTC", "buy", 0.01, mid, "yes")
        t = _answer_with(desk, "CONFIRM")
        state = ray.get(g.executor.submit.remote(intent))
        t.join(30)
        assert venue_fill_size(g.venue, intent.cloid) == pytest.approx(0.01)
        assert state.positions.get("BTC") == pytest.approx(0.01)
        events, _ = ray.get(g.alerter.since.remote(0))
        asked = [e for e in events if e.kind == "confirm_request"]
        answered = [e.text for e in events if e.kind == "confirm_answer"]
        assert len(asked) == 3 and all("BUY 0.01 BTC" in e.text for e in asked)
        assert len(answered) == 3
        assert "'yes' -> skipped" in answered[0]
        assert "'<timeout>' -> skipped" in answered[1]
        assert "'CONFIRM' -> placing" in answered[2]
    ray.kill(desk, no_restart=True)
