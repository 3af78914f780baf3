"""Mainnet order confirmation: every order request is shown and needs a typed ``CONFIRM``.

Why a pure function with injected input and clock: the prompt decides whether real money moves,
so it is tested exactly (CONFIRM places; anything else, or no answer within the timeout, skips)
without sleeping. The Executor (a Ray actor, without a terminal) posts each request to the
:class:`ConfirmDesk` actor and waits; the ``fractal live`` driver, which owns the terminal, takes
pending requests from the desk, calls :func:`ask` and posts the answer back.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from pydantic import BaseModel, ConfigDict

CONFIRM_WORD = "CONFIRM"
TIMEOUT_S = 60.0


class ConfirmRequest(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    symbol: str
    side: str
    size: float
    price: float | None
    stop: float | None
    kind: str

    def describe(self) -> str:
        price = "market" if self.price is None else f"{self.price:g}"
        stop = "none" if self.stop is None else f"{self.stop:g}"
        return (f"MAINNET order request: {self.side.upper()} {self.size:g} {self.symbol} "
                f"({self.kind}) price {price} stop {stop}")  # fmt: skip


class ConfirmAnswer(BaseModel):
    model_config = ConfigDict(frozen=True)

    request_id: str
    confirmed: bool
    answer: str  # what was typed, or "<timeout>"


def ask(
    req: ConfirmRequest,
    read_line: Callable[[float], str | None],
    clock: Callable[[], float] = time.monotonic,
    write: Callable[[str], None] = print,
    timeout_s: float = TIMEOUT_S,
) -> ConfirmAnswer:
    """Show ``req`` and read one answer; ``read_line(seconds_left)`` returns a line or None when
    no answer came in time. Only the exact word CONFIRM places the order."""
    write(req.describe())
    write(f"Type {CONFIRM_WORD} within {timeout_s:g} s to place it; anything else skips it.")
    deadline = clock() + timeout_s
    left = deadline - clock()
    line = read_line(left) if left > 0 else None
    if line is None or clock() > deadline:
        write("no confirmation in time: trade skipped")
        return ConfirmAnswer(request_id=req.request_id, confirmed=False, answer="<timeout>")
    ok = line.strip() == CONFIRM_WORD
    write("confirmed: placing the order" if ok else "not confirmed: trade skipped")
    return ConfirmAnswer(request_id=req.request_id, confirmed=ok, answer=line.strip()[:100])


class ConfirmDesk:
    """Mailbox between the Executor (asks, waits) and the driver (prompts, answers).

    Run as a threaded Ray actor: ``wait`` blocks one thread while ``answer`` arrives on another.
    A request nobody answers within ``timeout_s`` is skipped (the desk's own backstop)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._cv = threading.Condition()
        self._pending: dict[str, ConfirmRequest] = {}
        self._answers: dict[str, ConfirmAnswer] = {}
        self._asked_at: dict[str, float] = {}

    def request(self, req: ConfirmRequest) -> None:
        with self._cv:
            self._pending.setdefault(req.request_id, req)
            self._asked_at.setdefault(req.request_id, self._clock())
            self._cv.notify_all()

    def next_pending(self, wait_s: float = 0.5) -> ConfirmRequest | None:
        """The oldest unanswered request (waits up to ``wait_s`` for one)."""
        with self._cv:
            if not self._pending:
                self._cv.wait(wait_s)
            return next(iter(self._pending.values()), None)

    def answer(self, ans: ConfirmAnswer) -> None:
        with self._cv:
            if ans.request_id in self._pending:
                del self._pending[ans.request_id]
                self._answers[ans.request_id] = ans
                self._cv.notify_all()

    def wait(self, request_id: str, timeout_s: float = TIMEOUT_S) -> ConfirmAnswer:
        """The answer to ``request_id``; a skip ``timeout_s`` after it was asked without one."""
        deadline = self._asked_at.get(request_id, self._clock()) + timeout_s
        with self._cv:
            while request_id not in self._answers:
                left = deadline - self._clock()
                if left <= 0:
                    self._pending.pop(request_id, None)
                    self._asked_at.pop(request_id, None)
                    return ConfirmAnswer(request_id=request_id, confirmed=False,
                                         answer="<timeout>")  # fmt: skip
                self._cv.wait(min(left, 1.0))
            self._asked_at.pop(request_id, None)
            return self._answers.pop(request_id)
