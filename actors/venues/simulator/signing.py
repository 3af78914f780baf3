"""Signature verification with the SDK's own functions (hyperliquid.utils.signing).

Why the SDK's code: the venue recovers an address from whatever bytes were signed; anything the
client got wrong (network flag, key order, "2500.0", missing vault) recovers a random address,
which then "does not exist". Reusing the SDK's hashing reproduces exactly that behaviour.
Loopback URLs sign as testnet, so recovery uses is_mainnet=False.
"""

from __future__ import annotations

import copy
from typing import Any

from hyperliquid.utils.signing import (
    recover_agent_or_user_from_l1_action,
    recover_user_from_user_signed_action,
)

APPROVE_AGENT_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
USER_SIGNED = {"approveAgent": (APPROVE_AGENT_TYPES, "HyperliquidTransaction:ApproveAgent")}


def _signature(sig: Any) -> dict[str, Any]:
    if not isinstance(sig, dict) or not {"r", "s", "v"} <= set(sig):
        raise ValueError("signature must be an object with r, s, v")
    r, s = sig["r"], sig["s"]
    return {
        "r": int(r, 16) if isinstance(r, str) else int(r),
        "s": int(s, 16) if isinstance(s, str) else int(s),
        "v": int(sig["v"]),
    }


def recover_signer(
    action: dict[str, Any],
    signature: Any,
    vault_address: str | None,
    nonce: int,
    expires_after: int | None,
    is_mainnet: bool = False,
) -> str:
    """Lower-case address that signed this request (random-looking if the bytes differ)."""
    sig = _signature(signature)
    kind = action.get("type")
    try:
        if kind in USER_SIGNED:
            types, primary = USER_SIGNED[kind]
            body = copy.deepcopy(action)
            body.setdefault("agentName", "")
            addr = recover_user_from_user_signed_action(body, sig, types, primary, is_mainnet)
        else:
            addr = recover_agent_or_user_from_l1_action(
                action, sig, vault_address, nonce, expires_after, is_mainnet
            )
    except Exception as exc:  # malformed signature values: same outcome as a wrong signer
        raise ValueError(f"signature cannot be verified: {type(exc).__name__}") from None
    return str(addr).lower()
