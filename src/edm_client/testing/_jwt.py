"""Minimal HS256 JSON Web Tokens, standard library only: enough for the fake to be honest."""

from __future__ import annotations

import functools
import hashlib
import hmac
import json
import math
import time
from types import MappingProxyType
from typing import Any

from edm_client.testing._decoding import b64url_decode, b64url_encode, load_json

_HEADER = {"alg": "HS256", "typ": "JWT"}


def encode(claims: dict[str, Any], secret: bytes) -> str:
    header_b64 = b64url_encode(json.dumps(_HEADER).encode())
    signing_input = f"{header_b64}.{b64url_encode(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64url_encode(signature)}"


def decode(token: str, secret: bytes, *, now: float | None = None) -> dict[str, Any] | None:
    """The claims of a well-signed, unexpired token; None for anything else.

    Every part must be canonical base64url: a token is accepted only as it was signed, not
    with padding or stray characters that a lenient decoder would skip. `sub`, `tenant_id`
    and, when present, `app_id` are non-empty strings."""
    claims = _verified(token, secret)
    if claims is None or claims["exp"] <= (time.time() if now is None else now):
        return None
    return dict(claims)


# Every request carries a token, and checking one (HMAC, two base64 and JSON decodes) is a
# fifth of the fake's time per request; all of it but the expiry depends only on the token
# and the secret, so it is done once per token.
@functools.lru_cache(maxsize=256)
def _verified(token: str, secret: bytes) -> MappingProxyType[str, Any] | None:
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        expected = hmac.new(
            secret, f"{header_b64}.{claims_b64}".encode("ascii"), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(expected, b64url_decode(signature_b64)):
            return None
        header = load_json(b64url_decode(header_b64))
        claims = load_json(b64url_decode(claims_b64))
    except ValueError:  # UnicodeError included
        return None
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)) or not _finite(exp):
        return None
    # Who the token names: an `app_id` of 123 or null must not read as a human session,
    # which sees every app's records.
    named = [claims.get("sub"), claims.get("tenant_id")]
    if "app_id" in claims:
        named.append(claims["app_id"])
    if not all(isinstance(value, str) and value for value in named):
        return None
    return MappingProxyType(claims)


def _finite(number: float) -> bool:
    try:
        return math.isfinite(number)
    except OverflowError:  # an int no float can hold, as good as Infinity
        return False
