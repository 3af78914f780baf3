"""A minimal Telegram Bot API client (``sendMessage``) over httpx that never leaks its token.

Why not python-telegram-bot: we need one synchronous call with exact control over 429
``retry_after`` and over what reaches logs and exceptions; the Bot API puts the token in the URL
path, and httpx logs request URLs at INFO, so the token would be one log line away from a file.
Every error leaving this module is rebuilt from scratch without the URL.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import httpx

# httpx/httpcore log full request URLs (token included) at INFO/DEBUG: keep them quiet.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

TOKEN_PATTERN = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{20,}\b")
HEX_KEY_PATTERN = re.compile(r"\b(0x)?[0-9a-fA-F]{64}\b")


def redact(text: str, *secrets: str) -> str:
    """``text`` with every known secret and anything shaped like a bot token or a private key
    replaced: alerts quote exchange replies and exceptions, which may carry either."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    text = TOKEN_PATTERN.sub("[redacted-token]", text)
    return HEX_KEY_PATTERN.sub("[redacted-key]", text)


@dataclass(frozen=True)
class Delivered:
    message_id: int


@dataclass(frozen=True)
class RetryLater:
    """Not delivered; try again after ``after_s`` seconds (``retry_after`` or a backoff)."""

    after_s: float
    reason: str


class TelegramRejected(Exception):
    """The Bot API refused the message for good (bad chat id, bad token): fix the config."""


class TelegramClient:
    """``send(text)`` -> Delivered | RetryLater; raises TelegramRejected on a permanent error."""

    def __init__(
        self,
        token: str,
        chat_id: str,
        *,
        base_url: str = "https://api.telegram.org",
        timeout_s: float = 10.0,
    ) -> None:
        if not TOKEN_PATTERN.fullmatch(token):
            raise ValueError("TELEGRAM_BOT_TOKEN does not look like a bot token (digits:secret)")
        if not re.fullmatch(r"-?\d+|@[A-Za-z0-9_]{5,}", chat_id):
            raise ValueError("TELEGRAM_CHAT_ID must be a numeric chat id or @channelname")
        self._token = token
        self.chat_id = chat_id
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(timeout=timeout_s)

    def __repr__(self) -> str:  # never show the token
        return f"TelegramClient(chat_id={self.chat_id!r}, base_url={self.base_url!r})"

    def send(self, text: str) -> Delivered | RetryLater:
        url = f"{self.base_url}/bot{self._token}/sendMessage"
        body = {
            "chat_id": self.chat_id,
            "text": redact(text, self._token),
            "disable_web_page_preview": True,
        }
        try:
            reply = self._http.post(url, json=body)
        except httpx.HTTPError as err:  # the message would name the URL: rebuild it
            return RetryLater(5.0, f"Bot API unreachable ({type(err).__name__})")
        try:
            data = reply.json()
        except ValueError:
            return RetryLater(5.0, f"Bot API answered HTTP {reply.status_code} without JSON")
        if reply.status_code == 200 and data.get("ok"):
            return Delivered(int(data["result"]["message_id"]))
        description = redact(str(data.get("description", "")), self._token)
        if reply.status_code == 429:
            after = float((data.get("parameters") or {}).get("retry_after", 5))
            return RetryLater(max(after, 1.0), f"rate limited: {description}")
        if reply.status_code >= 500:
            return RetryLater(5.0, f"Bot API error {reply.status_code}: {description}")
        raise TelegramRejected(f"Bot API refused the message ({reply.status_code}): {description}")

    def close(self) -> None:
        self._http.close()
