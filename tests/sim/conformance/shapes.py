"""Reply-shape comparison against the recorded fixtures (keys and value types).

ccxt's fixtures stringify integers the real API sends as numbers (oid, timestamp, tid, ...), and
recorded nulls stand for nullable fields, so both are accepted as compatible.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import HL_RECORDED

CCXT_STRINGIFIED = {
    "oid",
    "timestamp",
    "tid",
    "time",
    "statusTimestamp",
    "value",
    "maxLeverage",
    "t",
    "T",
    "n",
    "token",
}
OPTIONAL = {"builderFee", "liquidation", "cloid", "twapId", "rawUsd"}


def ccxt(name: str) -> Any:
    data = json.loads(
        (HL_RECORDED / "ccxt_static" / "hyperliquid_http_responses_excerpt.json").read_text()
    )
    return data[name]


def nautilus(name: str) -> Any:
    return json.loads((HL_RECORDED / "nautilus_test_data" / name).read_text())


def cassette(name: str, request_type: str) -> Any:
    doc = yaml.safe_load(Path(HL_RECORDED / "sdk_cassettes" / name).read_text())
    for inter in doc["interactions"]:
        if json.loads(inter["request"]["body"]).get("type") == request_type:
            return json.loads(inter["response"]["body"]["string"])
    raise KeyError(f"{name} has no {request_type} interaction")


def _kind(x: Any) -> str:
    if x is None:
        return "null"
    if isinstance(x, bool):
        return "bool"
    if isinstance(x, int | float):
        return "num"
    if isinstance(x, str):
        return "str"
    if isinstance(x, list):
        return "list"
    return "dict"


def shape_mismatches(actual: Any, recorded: Any, path: str = "$", key: str = "") -> list[str]:
    """Differences in keys/types; empty when `actual` has the recorded shape."""
    ra, rr = _kind(actual), _kind(recorded)
    if rr == "null":
        return []
    if rr == "str" and ra == "num" and key in CCXT_STRINGIFIED:
        return []
    if rr == "str" and ra == "str" and key in ("px", "sz", "limitPx", "szi", "entryPx"):
        try:
            float(actual)
        except ValueError:
            return [f"{path}: {actual!r} is not a decimal string"]
        return []
    if ra != rr:
        if rr == "num" and ra == "null":
            return [f"{path}: null where recorded has a number"]
        return [f"{path}: {ra} where recorded has {rr}"]
    out: list[str] = []
    if rr == "dict":
        for k, v in recorded.items():
            if k not in actual:
                if k not in OPTIONAL and v is not None:  # recorded nulls may be omitted
                    out.append(f"{path}.{k}: missing")
                continue
            out += shape_mismatches(actual[k], v, f"{path}.{k}", k)
    elif rr == "list" and recorded and actual:
        out += shape_mismatches(actual[0], recorded[0], f"{path}[0]", key)
    return out
