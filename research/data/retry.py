"""The one retry policy for every network call of the data fetchers.

3 attempts, exponential backoff 2 s, 4 s … capped at 10 s, retrying only errors that may go
away by themselves (timeouts, dropped connections, HTTP 429 and 5xx, and their ccxt / SDK
equivalents). Permanent errors (bad request, bad symbol, auth) fail at once. Every retry is
logged with its reason (secrets redacted); the final failure is one `FetchError` naming the
call and its last cause. ``sleep`` is injectable so tests check the schedule without waiting.
"""

from __future__ import annotations

import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import tenacity

log = logging.getLogger(__name__)
T = TypeVar("T")

ATTEMPTS = 3
WAIT_MULTIPLIER_S = 2.0  # tenacity: multiplier * 2**(attempt-1) → 2, 4, 8, 10, 10 …
WAIT_MIN_S = 2.0
WAIT_MAX_S = 10.0

_SECRET = re.compile(
    r"(?i)((?:signature|api[_-]?key|apikey|secret|token|private[_-]?key|passphrase)"
    r"[\"']?\s*[=:]\s*[\"']?)[^&\s\"',}]+"
)
_HEX_KEY = re.compile(r"\b(0x)?[0-9a-fA-F]{64}\b")


class FetchError(RuntimeError):
    """A network call failed for good; ``transient`` says whether retries were exhausted."""

    def __init__(self, call: str, cause: BaseException, attempts: int, transient: bool) -> None:
        self.call = call
        self.cause = cause
        self.attempts = attempts
        self.transient = transient
        why = f"after {attempts} attempts" if transient else "(permanent error, not retried)"
        super().__init__(f"{call} failed {why}: {describe(cause)}")


def redact(text: str) -> str:
    """Hide anything that looks like a key, token, signature or 64-hex private key."""
    return _HEX_KEY.sub("<redacted>", _SECRET.sub(r"\1<redacted>", text))


def describe(exc: BaseException) -> str:
    """``Type: message`` (redacted, shortened) for logs and errors.

    The SDK's errors carry response headers in ``str(exc)``; only status and message are kept.
    """
    status = _status(exc)
    text = getattr(exc, "error_message", None) or getattr(exc, "message", None) or str(exc)
    text = str(text)
    if status is not None and str(status) not in text:
        text = f"HTTP {status} {text}".strip()
    return f"{type(exc).__name__}: {redact(text)[:300]}"


def _status(exc: BaseException) -> int | None:
    for attr in ("status_code", "status", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    return value if isinstance(value, int) else None


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: timeouts, connection errors, HTTP 429 and 5xx.

    Libraries are looked up in ``sys.modules`` only: an exception of a library that was never
    imported cannot occur, and importing ccxt just to classify would cost seconds.
    """
    ccxt = sys.modules.get("ccxt")
    if ccxt is not None:
        if isinstance(exc, ccxt.InvalidNonce):  # a signing problem, not a network one
            return False
        if isinstance(exc, ccxt.NetworkError):  # RequestTimeout, DDoSProtection, RateLimit…
            return True
        if isinstance(exc, ccxt.BaseError):  # BadRequest, BadSymbol, AuthenticationError …
            return False
    sdk_errors = sys.modules.get("hyperliquid.utils.error")
    if sdk_errors is not None:
        if isinstance(exc, sdk_errors.ServerError):
            return True
        if isinstance(exc, sdk_errors.ClientError):
            return bool(exc.status_code == 429)
    requests = sys.modules.get("requests")
    if requests is not None:
        if isinstance(exc, requests.Timeout | requests.ConnectionError):
            return True
        if isinstance(exc, requests.HTTPError):
            status = _status(exc)
            return status is not None and (status == 429 or status >= 500)
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    status = _status(exc)
    return status is not None and (status == 429 or status >= 500)


def policy(
    call: str,
    *,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = ATTEMPTS,
) -> tenacity.Retrying:
    """The tenacity policy (exposed so tests can inspect it); use `call_with_retry`."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "%s: attempt %d/%d failed (%s); retrying in %.0f s",
            call,
            state.attempt_number,
            attempts,
            describe(exc) if exc else "?",
            state.upcoming_sleep,
        )

    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_exponential(
            multiplier=WAIT_MULTIPLIER_S, min=WAIT_MIN_S, max=WAIT_MAX_S
        ),
        retry=tenacity.retry_if_exception(is_transient),
        sleep=sleep,
        before_sleep=before_sleep,
        reraise=True,
    )


def call_with_retry(
    call: str,
    fn: Callable[..., T],
    *args: Any,
    sleep: Callable[[float], None] = time.sleep,
    attempts: int = ATTEMPTS,
    **kwargs: Any,
) -> T:
    """Run ``fn(*args, **kwargs)`` under the policy; any final failure is a FetchError."""
    retrying = policy(call, sleep=sleep, attempts=attempts)
    try:
        return retrying(fn, *args, **kwargs)
    except Exception as exc:
        transient = is_transient(exc)
        used = retrying.statistics.get("attempt_number", 1)
        if not transient:
            log.warning("%s: permanent error, not retried (%s)", call, describe(exc))
        raise FetchError(call, exc, used, transient) from exc
