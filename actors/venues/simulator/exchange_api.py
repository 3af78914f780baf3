"""`POST /exchange`: parse the whole request, then check the envelope, then apply the action.

Order of checks (docs/hyperliquid.md §14): JSON and action shape (422) -> signature ->
signer/agent -> vault -> nonce -> expiresAfter -> action. `prepare` does everything that needs
no venue state, so a 422 never touches the venue (no order, no fill, no nonce); `apply` runs
under the server's lock. Whole-request failures are {"status":"err"}; per-order failures are
HTTP 200 {"status":"ok"} with the error inside statuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from actors.venues.simulator import actions as act
from actors.venues.simulator import errors
from actors.venues.simulator.engine import Venue
from actors.venues.simulator.signing import recover_signer


class BadRequest(Exception):
    """Body does not deserialize: HTTP 422 text/plain, nothing applied."""


@dataclass(frozen=True)
class Request:
    """A well-formed, signature-recovered /exchange request, not yet checked against the venue."""

    signer: str
    action: act.Action
    nonce: int
    vault: Any
    expires: Any


def _err(msg: str) -> dict[str, Any]:
    return {"status": "err", "response": msg}


def _ok(kind: str, data: Any = None) -> dict[str, Any]:
    if data is None:
        return {"status": "ok", "response": {"type": kind}}
    return {"status": "ok", "response": {"type": kind, "data": data}}


def prepare(body: Any) -> Request:
    """Deserialize and verify the signature (raises BadRequest; never touches the venue)."""
    if not isinstance(body, dict):
        raise BadRequest(errors.DESERIALIZE)
    raw, nonce, sig = body.get("action"), body.get("nonce"), body.get("signature")
    if not isinstance(raw, dict):
        raise BadRequest(errors.DESERIALIZE)
    if not isinstance(nonce, int) or isinstance(nonce, bool):
        raise BadRequest(errors.DESERIALIZE)
    try:
        action = act.parse_action(raw)
    except act.Malformed:
        raise BadRequest(errors.DESERIALIZE) from None
    vault, expires = body.get("vaultAddress"), body.get("expiresAfter")
    try:
        signer = recover_signer(raw, sig, vault, nonce, expires)
    except ValueError:
        raise BadRequest(errors.DESERIALIZE) from None
    return Request(signer, action, nonce, vault, expires)


def apply(v: Venue, req: Request, wall_ms: int) -> dict[str, Any]:
    """Envelope checks against the venue's state, then the action (call under the lock)."""
    if isinstance(req.action, act.ApproveAgent):
        return _approve_agent(v, req, wall_ms)
    user = v.master_of(req.signer)
    if user is None:
        return _err(errors.UNKNOWN_SIGNER.format(address=req.signer))
    if req.vault is not None:
        return _err(errors.VAULT_NOT_REGISTERED.format(address=str(req.vault).lower()))
    bad_nonce = v.nonces.check_and_use(req.signer, req.nonce, wall_ms)
    if bad_nonce:
        return _err(bad_nonce)
    if req.expires is not None and (not isinstance(req.expires, int) or req.expires < wall_ms):
        return _err(errors.EXPIRED.format(expires_after=req.expires))
    return _dispatch(v, user, req.action)


def handle_exchange(v: Venue, body: Any, wall_ms: int) -> dict[str, Any]:
    """prepare + apply in one call (for callers that hold the venue already)."""
    return apply(v, prepare(body), wall_ms)


def _approve_agent(v: Venue, req: Request, wall_ms: int) -> dict[str, Any]:
    assert isinstance(req.action, act.ApproveAgent)
    if req.signer not in v.accounts:
        return _err(errors.UNKNOWN_SIGNER.format(address=req.signer))
    bad_nonce = v.nonces.check_and_use(req.signer, req.nonce, wall_ms)
    if bad_nonce:
        return _err(bad_nonce)
    v.approve_agent(req.signer, req.action.agent, req.action.name)
    return _ok("default")


def _dispatch(v: Venue, user: str, a: act.Action) -> dict[str, Any]:
    if isinstance(a, act.PlaceOrders):
        return _ok("order", {"statuses": v.place_orders(user, a.orders, a.grouping)})
    if isinstance(a, act.CancelBatch):
        statuses = [
            v.cancel(user, c.asset, c.oid)
            if isinstance(c, act.Cancel)
            else v.cancel_by_cloid(user, c.asset, c.cloid)
            for c in a.cancels
        ]
        return _ok("cancel", {"statuses": statuses})
    if isinstance(a, act.BatchModify):
        return _ok("order", {"statuses": [v.modify(user, m.oid, m.order) for m in a.modifies]})
    if isinstance(a, act.SingleModify):
        status = v.modify(user, a.modify.oid, a.modify.order)
        if isinstance(status, dict) and "error" in status:
            return _err(status["error"])
        return _ok("default")
    if isinstance(a, act.UpdateLeverage):
        msg = v.update_leverage(user, a.asset, a.is_cross, a.leverage)
        return _err(msg) if msg else _ok("default")
    if isinstance(a, act.UpdateIsolatedMargin):
        msg = v.update_isolated_margin(user, a.asset, a.ntli)
        return _err(msg) if msg else _ok("default")
    if isinstance(a, act.ScheduleCancel):
        msg = v.schedule_cancel(user, a.time)
        return _err(msg) if msg else _ok("default")
    assert isinstance(a, act.Unsupported)
    return _err(errors.UNSUPPORTED_ACTION.format(action_type=a.kind))
