"""The venue's exact error strings (shared/data/hyperliquid_recorded/observed_error_strings.json).

Why one module: tests and clients match on these prefixes, so every rejection path must use the
same text the real venue sends. Per-order strings get the venue's ` asset=<id>` suffix.
"""

from __future__ import annotations

MIN_NOTIONAL = "Order must have minimum value of $10."
INSUFFICIENT_MARGIN = "Insufficient margin to place order."
INVALID_PRICE = "Order has invalid price."
TICK = "Price must be divisible by tick size."
PRICE_BAND = "Order price cannot be more than 80% away from the reference price"
ZERO_SIZE = "Order has zero size."
INVALID_SIZE = "Order has invalid size."  # wording unverified on the real venue
TOO_LARGE = "Order value too large. Max is $5000000."
REDUCE_ONLY = "Reduce only order would increase position."
BAD_ALO = "Post only order would have immediately matched, bbo was {bbo}."
IOC_CANCEL = "Order could not immediately match against any resting orders."
BAD_TRIGGER = "Invalid TP/SL price."
NO_LIQUIDITY = "No liquidity available for market order."
MISSING_ORDER = "Order was never placed, already canceled, or filled."
DUPLICATE_CLOID = "Order has duplicate cloid."  # wording ours (unverified on the venue)

# whole-request errors ({"status": "err", "response": ...})
UNKNOWN_SIGNER = "User or API Wallet {address} does not exist."
VAULT_NOT_REGISTERED = "Vault not registered: {address}"
DUPLICATE_NONCE = "Invalid nonce: duplicate nonce {nonce}"
# wording of the next ones is not recorded anywhere; kept in the same style
NONCE_TOO_LOW = "Invalid nonce: nonce too low {nonce}"
NONCE_OUT_OF_WINDOW = "Invalid nonce: nonce out of window {nonce}"
EXPIRED = "Action expired: expiresAfter {expires_after} is in the past"
UNKNOWN_ASSET = "Unknown asset {asset}"
INVALID_LEVERAGE = "Invalid leverage value"
NO_ISOLATED_POSITION = "Cannot update margin for a position that is not isolated."
SWITCH_MARGIN_MODE = "Cannot switch leverage type with open position."
SCHEDULE_CANCEL_TOO_EARLY = "Scheduled cancel time too early, must be at least 5 seconds from now."
UNSUPPORTED_ACTION = "Unsupported action type: {action_type}"

# HTTP-level (text/plain bodies so the SDK raises ClientError instead of crashing)
DESERIALIZE = "Failed to deserialize the JSON body into the target type"  # 422, recorded
# 429: only the status is recorded (observed_error_strings.json: "body may not be JSON");
# clients must match on the status, never on this text
RATE_LIMITED = "Too many requests: IP weight limit exceeded"


def with_asset(msg: str, asset: int) -> str:
    """Real per-order errors end in ` asset=<id>`; clients match on the prefix."""
    return f"{msg} asset={asset}"
