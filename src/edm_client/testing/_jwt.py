"""Minimal HS256 JSON Web Tokens, standard library only: enough for the fake to be honest."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

_HEADER = {"alg": "HS256", "typ": "JWT"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(claims: dict[str, Any], secret: bytes) -> str:
    signing_input = f"{_b64(json.dumps(_HEADER).encode())}.{_b64(json.dumps(claims).encode())}"
    signature = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def decode(token: str, secret: bytes, *, now: float | None = None) -> dict[str, Any] | None:
    """The claims of a well-signed, unexpired token; None for anything else."""
    try:
        header_b64, claims_b64, signature_b64 = token.split(".")
        expected = hmac.new(
            secret, f"{header_b64}.{claims_b64}".encode("ascii"), hashlib.sha256
        ).digest()
        if not hmac.compare_digest(expected, _unb64(signature_b64)):
            return None
        if json.loads(_unb64(header_b64)).get("alg") != "HS256":
            return None
        claims = json.loads(_unb64(claims_b64))
    except (ValueError, UnicodeError, AttributeError):
        return None
    if not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if not isinstance(exp, (int, float)) or exp <= (time.time() if now is None else now):
        return None
    if not isinstance(claims.get("sub"), str) or not isinstance(claims.get("tenant_id"), str):
        return None
    return claims
