"""Mainnet prompt: only a typed CONFIRM places; anything else or silence skips (injected clock)."""

from __future__ import annotations

from actors.confirm import ConfirmAnswer, ConfirmDesk, ConfirmRequest, ask

REQ = ConfirmRequest(request_id="0x1", symbol="BTC", side="buy", size=0.01, price=None,
                     stop=99_000.0, kind="market")  # fmt: skip


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_confirm_places_and_shows_the_order() -> None:
    shown: list[str] = []
    ans = ask(REQ, lambda left: "CONFIRM\n", FakeClock(), shown.append)
    assert ans.confirmed and ans.answer == "CONFIRM"
    assert "BUY 0.01 BTC" in shown[0] and "stop 99000" in shown[0] and "market" in shown[0]


def test_anything_else_skips() -> None:
    for typed in ("confirm", "yes", "", "CONFIRM please"):
        ans = ask(REQ, lambda left, t=typed: t, FakeClock(), lambda _: None)
        assert not ans.confirmed
        assert ans.answer == typed.strip()


def test_silence_for_60_s_skips_without_sleeping() -> None:
    clock = FakeClock()
    asked: list[float] = []

    def reader(left: float) -> str | None:
        asked.append(left)
        clock.t += left  # the whole timeout passes with no input
        return None

    ans = ask(REQ, reader, clock, lambda _: None)
    assert asked == [60.0]
    assert (ans.confirmed, ans.answer) == (False, "<timeout>")


def test_an_answer_after_the_deadline_is_a_skip() -> None:
    clock = FakeClock()

    def late(left: float) -> str:
        clock.t += left + 1
        return "CONFIRM"

    assert not ask(REQ, late, clock, lambda _: None).confirmed


def test_desk_hands_requests_and_answers_over() -> None:
    desk = ConfirmDesk(clock=FakeClock())
    desk.request(REQ)
    assert desk.next_pending(0.0) == REQ
    desk.answer(ConfirmAnswer(request_id="0x1", confirmed=True, answer="CONFIRM"))
    assert desk.next_pending(0.0) is None
    assert desk.wait("0x1", 60).confirmed


def test_desk_times_out_unanswered_requests() -> None:
    clock = FakeClock()
    desk = ConfirmDesk(clock=clock)
    desk.request(REQ)
    clock.t += 61
    ans = desk.wait("0x1", 60)
    assert (ans.confirmed, ans.answer) == (False, "<timeout>")
    assert desk.next_pending(0.0) is None  # withdrawn: a late answer places nothing
