"""ccxt's exceptions mapped onto the Venue error contract (base.py), in one place.

Why: the outcome of an order is *unknown* after a timeout, reset, 5xx, 429, maintenance reply
or an unreadable body, so those are ``VenueUnavailable`` (look the order up by client id, F2);
a definite refusal of an order (margin, size, price, reduce-only) is ``OrderRejected`` with the
venue's own text; bad keys and unknown symbols are ``VenueError`` with a clear sentence. Messages
drop query strings, so signatures and timestamps never reach logs.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator

import ccxt

from actors.venues.base import OrderRejected, VenueError, VenueUnavailable

_QUERY = re.compile(r"\?\S*")
_DEFINITE = (ccxt.InsufficientFunds, ccxt.InvalidOrder, ccxt.BadRequest, ccxt.OperationRejected)


def venue_text(exc: BaseException) -> str:
    """The venue's own wording inside a ccxt message (``msg``/``retMsg``/``sMsg``), else the
    message without its URL query."""
    text = _QUERY.sub("?…", str(exc))
    start = text.find("{")
    if start >= 0:
        with contextlib.suppress(ValueError):
            body = json.loads(text[start:])
            if isinstance(body, dict):
                data = body.get("data")
                if isinstance(data, list) and data and isinstance(data[0], dict):
                    if data[0].get("sMsg"):
                        return str(data[0]["sMsg"])
                for key in ("msg", "retMsg", "message"):
                    if body.get(key):
                        return str(body[key])
    return text


@contextlib.contextmanager
def mapped(what: str, cloid: str | None = None) -> Iterator[None]:
    """Translate ccxt failures inside the block. With ``cloid`` (an order placement), definite
    refusals become ``OrderRejected``; otherwise they are ``VenueError``."""
    try:
        yield
    except ccxt.DuplicateOrderId as exc:  # an order with this client id exists: look it up
        raise VenueUnavailable(f"{what}: duplicate client order id ({venue_text(exc)})") from None
    except ccxt.AuthenticationError as exc:
        raise VenueError(
            f"{what}: authentication refused ({venue_text(exc)}): check the API key, secret, "
            "passphrase, permissions and that they belong to this network"
        ) from None
    except ccxt.BadSymbol as exc:
        raise VenueError(f"{what}: unknown symbol ({venue_text(exc)})") from None
    except _DEFINITE as exc:
        if cloid is not None:
            raise OrderRejected(cloid, venue_text(exc)) from None
        raise VenueError(f"{what}: {venue_text(exc)}") from None
    except ccxt.OnMaintenance as exc:
        raise VenueUnavailable(f"{what}: venue under maintenance ({venue_text(exc)})") from None
    except (ccxt.NetworkError, ccxt.BadResponse, ccxt.ExchangeError, ccxt.BaseError) as exc:
        raise VenueUnavailable(
            f"{what}: {type(exc).__name__} {venue_text(exc)[:200]} (outcome unknown)"
        ) from None
    except (ValueError, TypeError, KeyError, AttributeError, IndexError) as exc:
        # raised inside ccxt's parsers on a body that is not the venue's shape
        raise VenueUnavailable(f"{what}: malformed reply ({type(exc).__name__})") from None
