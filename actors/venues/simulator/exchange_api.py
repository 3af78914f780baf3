"""`POST /exchange`: envelope checks in the venue's order, then the action on the engine.

Order of checks (docs/hyperliquid.md §14): JSON shape (422) -> signature -> signer/agent ->
vault -> nonce -> expiresAfter -> action. Whole-request failures are {"status":"err"}; per-order
failures are HTTP 200 {"status":"ok"} with the error inside statuses.
"""

from __future__ import annotations

from typing import Any

from actors.venues.simulator import errors
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.signing import recover_signer


class BadRequest(Exception):
    """Body does not deserialize: HTTP 422 text/plain."""


def _err(msg: str) -> dict[str, Any]:
    return {"status": "err", "response": msg}


def _ok(kind: str, data: Any = None) -> dict[str, Any]:
    if data is None:
        return {"status": "ok", "response": {"type": kind}}
    return {"status": "ok", "response": {"type": kind, "data": data}}


def handle_exchange(v: Venue, body: Any, wall_ms: int) -> dict[str, Any]:
    """Reply body for one /exchange request (raises BadRequest for a 422)."""
    if not isinstance(body, dict):
        raise BadRequest(errors.DESERIALIZE)
    action, nonce, sig = body.get("action"), body.get("nonce"), body.get("signature")
    if not isinstance(action, dict) or not isinstance(action.get("type"), str):
        raise BadRequest(errors.DESERIALIZE)
    if not isinstance(nonce, int) or isinstance(nonce, bool):
        raise BadRequest(errors.DESERIALIZE)
    vault = body.get("vaultAddress")
    expires = body.get("expiresAfter")
    try:
        signer = recover_signer(action, sig, vault, nonce, expires)
    except ValueError:
        raise BadRequest(errors.DESERIALIZE) from None
    if action["type"] == "approveAgent":
        return _approve_agent(v, signer, action, nonce, wall_ms)
    user = v.master_of(signer)
    if user is None:
        return _err(errors.UNKNOWN_SIGNER.format(address=signer))
    if vault is not None:
        return _err(errors.VAULT_NOT_REGISTERED.format(address=str(vault).lower()))
    bad_nonce = v.nonces.check_and_use(signer, nonce, wall_ms)
    if bad_nonce:
        return _err(bad_nonce)
    if expires is not None and (not isinstance(expires, int) or expires < wall_ms):
        return _err(errors.EXPIRED.format(expires_after=expires))
    try:
        return _dispatch(v, user, action)
    except (KeyError, TypeError, ValueError, AttributeError):
        raise BadRequest(errors.DESERIALIZE) from None


def _approve_agent(
    v: Venue, signer: str, action: dict[str, Any], nonce: int, wall_ms: int
) -> dict[str, Any]:
    if signer not in v.accounts:
        return _err(errors.UNKNOWN_SIGNER.format(address=signer))
    bad_nonce = v.nonces.check_and_use(signer, nonce, wall_ms)
    if bad_nonce:
        return _err(bad_nonce)
    agent = action.get("agentAddress")
    if not isinstance(agent, str):
        raise BadRequest(errors.DESERIALIZE)
    v.approve_agent(signer, agent, action.get("agentName", "") or "")
    return _ok("default")


def _dispatch(v: Venue, user: str, action: dict[str, Any]) -> dict[str, Any]:
    kind = action["type"]
    if kind == "order":
        orders = action["orders"]
        if not isinstance(orders, list):
            raise ValueError("orders must be a list")
        statuses = v.place_orders(user, orders, action.get("grouping", "na"))
        return _ok("order", {"statuses": statuses})
    if kind == "cancel":
        statuses = [v.cancel(user, c["a"], c["o"]) for c in action["cancels"]]
        return _ok("cancel", {"statuses": statuses})
    if kind == "cancelByCloid":
        statuses = [v.cancel_by_cloid(user, c["asset"], c["cloid"]) for c in action["cancels"]]
        return _ok("cancel", {"statuses": statuses})
    if kind == "batchModify":
        statuses = [v.modify(user, m["oid"], m["order"]) for m in action["modifies"]]
        return _ok("order", {"statuses": statuses})
    if kind == "modify":
        status = v.modify(user, action["oid"], action["order"])
        if isinstance(status, dict) and "error" in status:
            return _err(status["error"])
        return _ok("default")
    if kind == "updateLeverage":
        msg = v.update_leverage(user, action["asset"], bool(action["isCross"]), action["leverage"])
        return _err(msg) if msg else _ok("default")
    if kind == "updateIsolatedMargin":
        msg = v.update_isolated_margin(user, action["asset"], action["ntli"])
        return _err(msg) if msg else _ok("default")
    if kind == "scheduleCancel":
        msg = v.schedule_cancel(user, action.get("time"))
        return _err(msg) if msg else _ok("default")
    return _err(errors.UNSUPPORTED_ACTION.format(action_type=kind))
