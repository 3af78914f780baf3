"""A lean HTTP session for the SDK clients talking to the loopback simulator (paper mode).

Why: the Executor posts to the venue several times per bar close (account, fills, cancels,
places), and on 2 cores the paper system's latency is set by its CPU. ``requests`` spends
~0.4-0.5 ms of CPU per call preparing, merging settings, cookies and hooks that a JSON post to
127.0.0.1 never needs: about half the Executor's busy time (issue #15, py-spy). This session
keeps the SDK unmodified (it only calls ``session.post(url, json=..., timeout=...)``) and
posts through urllib3's connection pool, the same pool ``requests`` itself uses, with the same
retry policy (none: a POST is never resent) and the same exceptions (``requests``' own, mapped
as its HTTPAdapter maps them), so the venue's failure handling is unchanged. Real venues keep
``requests``: proxies, CA bundles and netrc from the environment matter there, and the network
round trip dwarfs the client's CPU.
"""

from __future__ import annotations

import json as jsonlib
from typing import Any

import requests
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NewConnectionError,
    ReadTimeoutError,
)

# requests' HTTPAdapter default: no retries, and a read error is raised, never retried
_NO_RETRY = urllib3.Retry(0, read=False)


class LoopbackResponse:
    """What the SDK reads of a ``requests.Response``: status, text, headers and ``json()``."""

    __slots__ = ("status_code", "content", "headers")

    def __init__(self, status_code: int, content: bytes, headers: Any) -> None:
        self.status_code = status_code
        self.content = content
        self.headers = headers

    @property
    def ok(self) -> bool:
        return self.status_code < 400

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        """Parsed body; ValueError (as requests) when it is not JSON."""
        return jsonlib.loads(self.content)


class LoopbackSession:
    """``requests.Session``'s ``post``/``close`` over one urllib3 pool, environment ignored."""

    trust_env = False  # no proxy, netrc or CA bundle from the environment (loopback only)

    def __init__(self) -> None:
        self.headers: dict[str, str] = {"Content-Type": "application/json"}
        # requests' pool size: a client shared by threads (a place beside a cancel) keeps its
        # connections instead of discarding one with a "pool is full" warning
        self._pool = urllib3.PoolManager(num_pools=2, maxsize=10, retries=_NO_RETRY)

    def post(self, url: str, json: Any = None, timeout: float | None = None) -> LoopbackResponse:
        """POST ``json`` to ``url``; transport failures raise what ``requests`` would raise."""
        try:
            body = jsonlib.dumps(json, allow_nan=False, separators=(",", ":")).encode()
        except ValueError as exc:  # NaN/inf: requests refuses the same payload
            raise requests.exceptions.InvalidJSONError(exc) from None
        try:
            r = self._pool.request(
                "POST", url, body=body, headers=self.headers, timeout=timeout,
                retries=_NO_RETRY, redirect=False,
            )  # fmt: skip
        except MaxRetryError as exc:
            reason = exc.reason
            if isinstance(reason, ConnectTimeoutError) and not isinstance(
                reason, NewConnectionError
            ):
                raise requests.exceptions.ConnectTimeout(exc) from None
            raise requests.exceptions.ConnectionError(exc) from None
        except ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(exc) from None
        except (HTTPError, OSError) as exc:  # ProtocolError (dropped connection) included
            raise requests.exceptions.ConnectionError(exc) from None
        return LoopbackResponse(r.status, r.data, r.headers)

    def close(self) -> None:
        self._pool.clear()
