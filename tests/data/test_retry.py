"""The one retry policy: what is retried, the backoff schedule, give-up, and redaction."""

from __future__ import annotations

import logging
from collections.abc import Callable

import ccxt
import pytest
import requests
from hyperliquid.utils.error import ClientError, ServerError

from research.data.retry import FetchError, call_with_retry, is_transient, redact


class Flaky:
    """Raises the given errors in turn, then returns "ok"; counts calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


@pytest.fixture
def sleeps() -> list[float]:
    return []


def run(fn: Callable[[], str], sleeps: list[float], **kw: object) -> str:
    return call_with_retry("test call", fn, sleep=sleeps.append, **kw)  # type: ignore[arg-type]


TRANSIENT = [
    ServerError(502, "bad gateway"),
    ClientError(429, None, "rate limited", None),
    requests.Timeout("read timed out"),
    requests.ConnectionError("connection refused"),
    TimeoutError("timed out"),
    ccxt.NetworkError("reset"),
    ccxt.RequestTimeout("timeout"),
    ccxt.DDoSProtection("ddos"),
    ccxt.RateLimitExceeded("429"),
    ccxt.ExchangeNotAvailable("503"),
]
PERMANENT = [
    ClientError(400, None, "bad request", None),
    ClientError(422, None, "Failed to deserialize", None),
    ccxt.BadRequest("400"),
    ccxt.AuthenticationError("401"),
    ccxt.BadSymbol("no such market"),
    ValueError("not a network problem"),
]


@pytest.mark.parametrize("error", TRANSIENT, ids=lambda e: type(e).__name__)
def test_transient_errors_are_retried(error: BaseException, sleeps: list[float]) -> None:
    fn = Flaky(error)
    assert run(fn, sleeps) == "ok"
    assert fn.calls == 2 and sleeps == [2.0]


@pytest.mark.parametrize("error", PERMANENT, ids=lambda e: type(e).__name__)
def test_permanent_errors_are_not_retried(error: BaseException, sleeps: list[float]) -> None:
    fn = Flaky(error)
    with pytest.raises(FetchError, match="permanent error, not retried") as info:
        run(fn, sleeps)
    assert fn.calls == 1 and sleeps == []
    assert info.value.cause is error and not info.value.transient


def test_gives_up_after_three_attempts_with_clear_error(sleeps: list[float]) -> None:
    fn = Flaky(*(ServerError(500, f"boom {i}") for i in range(5)))
    with pytest.raises(FetchError) as info:
        run(fn, sleeps)
    assert fn.calls == 3
    assert sleeps == [2.0, 4.0]
    message = str(info.value)
    assert "test call failed after 3 attempts" in message
    assert "ServerError" in message and "boom 2" in message  # the last cause
    assert info.value.attempts == 3 and info.value.transient


def test_backoff_doubles_and_is_capped_at_ten_seconds(sleeps: list[float]) -> None:
    fn = Flaky(*(ccxt.RequestTimeout("t") for _ in range(10)))
    with pytest.raises(FetchError):
        run(fn, sleeps, attempts=7)
    assert sleeps == [2.0, 4.0, 8.0, 10.0, 10.0, 10.0]


def test_each_retry_is_logged_with_reason_and_no_secret(
    sleeps: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    key = "0x" + "ab" * 32
    fn = Flaky(ccxt.NetworkError(f"GET /x?signature=deadbeef&apiKey=SECRET1 key {key}"))
    with caplog.at_level(logging.WARNING, logger="research.data.retry"):
        run(fn, sleeps)
    (record,) = caplog.records
    text = record.getMessage()
    assert "test call: attempt 1/3 failed (NetworkError" in text and "retrying in 2 s" in text
    assert "deadbeef" not in text and "SECRET1" not in text and key not in text


def test_classification_table() -> None:
    assert all(is_transient(e) for e in TRANSIENT)
    assert not any(is_transient(e) for e in PERMANENT)
    assert not is_transient(ccxt.InvalidNonce("nonce"))


def test_redact() -> None:
    assert redact("token=abc&x=1") == "token=<redacted>&x=1"
    assert redact('{"apiKey": "k1"}') == '{"apiKey": "<redacted>"}'
