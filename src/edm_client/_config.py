"""Checking and resolving a client's settings: key, base URL, token and headers.

Every message names the setting and the fix, and never shows a token or header value.
"""

from __future__ import annotations

import ipaddress
import math
import os
import sys
import warnings
from collections.abc import Awaitable, Callable, Mapping
from typing import Final, TypeAlias

import httpx

from edm_client._exceptions import EDMError, InvalidRequestError
from edm_client._rules import IDEMPOTENCY_KEY_RULE, check_idempotency_key

API_KEY_ENV: Final = "EDM_API_KEY"
BASE_URL_ENV: Final = "EDM_BASE_URL"

TokenProvider: TypeAlias = Callable[[], str | Awaitable[str]]
"""A zero-argument callable returning the current token (or, for AsyncClient, an awaitable)."""
ApiKey: TypeAlias = str | TokenProvider


def resolve_credentials(
    api_key: ApiKey | None, base_url: str | httpx.URL | None
) -> tuple[ApiKey, httpx.URL]:
    """The key and base URL from the arguments, else the environment, checked."""
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV) or None
    if base_url is None:
        base_url = os.environ.get(BASE_URL_ENV) or None
    missing = [
        f"pass {param}=... or set the {env} environment variable"
        for param, env, value in (
            ("api_key", API_KEY_ENV, api_key),
            ("base_url", BASE_URL_ENV, base_url),
        )
        if value is None
    ]
    if missing or api_key is None or base_url is None:
        raise EDMError("The EDM client is not configured: " + "; ".join(missing) + ".")
    if isinstance(api_key, str):
        api_key = api_key.strip()
        problem = token_problem(api_key)
        if problem:
            raise EDMError(f"api_key {problem}; pass the token itself (or set {API_KEY_ENV}).")
    elif not callable(api_key):
        raise EDMError("api_key must be a token string or a callable that returns one.")
    return api_key, checked_base_url(base_url)


def checked_base_url(base_url: str | httpx.URL) -> httpx.URL:
    try:
        # An httpx.URL is parsed already (a with_options copy passes its client's on).
        url = base_url if isinstance(base_url, httpx.URL) else httpx.URL(str(base_url).strip())
    except httpx.InvalidURL as exc:
        raise EDMError(f"base_url {str(base_url)!r} is not a valid URL: {exc}") from None
    if url.userinfo:
        # Credentials in the URL would show up in every repr, log line and error message.
        raise EDMError(
            "base_url must not contain a user name or password; pass the token as api_key."
        )
    if url.scheme not in ("http", "https") or not url.host:
        raise EDMError(
            f"base_url {str(base_url)!r} must be an http:// or https:// URL with a host, "
            "e.g. https://edm.example.com"
        )
    if "?" in str(url) or "#" in str(url):  # in a parsed URL, only as query and fragment marks
        # Paths are appended to the base URL's text, so they would land inside its query or
        # fragment and every request would go to the same wrong place.
        raise InvalidRequestError(
            f"base_url {str(url)!r} must not contain a query (?...) or fragment (#...): "
            "API paths are added after it. Pass the address up to its path, e.g. "
            "https://edm.example.com/edm",
            param="base_url",
        )
    if url.scheme == "http" and not _is_loopback(url.host):
        warnings.warn(
            f"base_url {str(url)!r} uses plain http:// to a host other than this machine: "
            "the API token would travel unencrypted. Use https://.",
            InsecureTransportWarning,
            stacklevel=_caller_stacklevel(),
        )
    return url


def warn_if_proxied(url: httpx.URL) -> None:
    """`url` is plain http:// and requests to it go through a proxy (for a host elsewhere,
    `checked_base_url` has already warned)."""
    if _is_loopback(url.host):
        warnings.warn(
            f"base_url {str(url)!r} uses plain http:// and requests to it go through a proxy "
            "(HTTP_PROXY or ALL_PROXY in the environment, or the http_client's own): the API "
            "token would reach the proxy unencrypted. Exclude the host with NO_PROXY, pass "
            "trust_env=False, or use https://.",
            InsecureTransportWarning,
            stacklevel=_caller_stacklevel(),
        )


class NotGiven:
    """The type of `NOT_GIVEN`: an argument left out, where None means something of its own
    (`total_timeout=None` removes the limit; leaving it out keeps the client's)."""

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


def checked_total_timeout(value: object) -> float | None:
    """A `total_timeout`: None (no limit) or a finite number of seconds above 0."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not (math.isfinite(value) and value > 0)
    ):
        raise InvalidRequestError(
            "total_timeout must be a finite number of seconds above 0, or None for no limit, "
            f"not {value!r}",
            param="total_timeout",
        )
    return float(value)


def positive_int(name: str, value: object) -> int:
    """`value` when it is a whole number of 1 or more, else `InvalidRequestError` naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidRequestError(
            f"{name} must be a whole number of 1 or more, not {value!r}", param=name
        )
    return value


def _caller_stacklevel() -> int:
    """The `stacklevel` that makes a warning point at the first frame outside edm_client."""
    frame = sys._getframe(1)
    level = 1
    while frame.f_back is not None and _is_ours(frame.f_globals.get("__name__", "")):
        frame = frame.f_back
        level += 1
    return level


def _is_ours(module: str) -> bool:
    return module == "edm_client" or module.startswith("edm_client.")


class InsecureTransportWarning(UserWarning):
    """The token would travel unencrypted: the base URL is plain http:// to another machine,
    or to this one through a proxy."""


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_token(token: object) -> str:
    if not isinstance(token, str):
        raise EDMError(f"api_key callable returned {type(token).__name__}, not a token string.")
    if not token.strip():
        raise EDMError("api_key callable returned an empty string, not a token.")
    token = token.strip()
    problem = token_problem(token)
    if problem:
        raise EDMError(f"The token the api_key callable returned {problem}.")
    return token


def headers_problem(headers: object) -> str | None:
    """Why `headers` cannot be sent, without showing any value (it may be a secret)."""
    if headers is None:
        return None
    if not isinstance(headers, Mapping):
        return f"must be a mapping of header names to values, not {type(headers).__name__}"
    for name, value in headers.items():
        if (
            not isinstance(name, str)
            or not name
            or any(not 33 <= ord(c) < 127 or c == ":" for c in name)
        ):
            return f"{name!r} is not a valid HTTP header name"
        if not isinstance(value, str):
            return f"the value of {name} must be a str, not {type(value).__name__}"
        odd = _odd_character(value)
        if odd:
            return f"the value of {name} contains {odd}; header values are printable ASCII"
        # The same rule as the idempotency_key argument: the server refuses any other key.
        if name.lower() == "idempotency-key" and check_idempotency_key(value) is not None:
            return f"the value of {name} must be {IDEMPOTENCY_KEY_RULE}"
    return None


def _odd_character(text: str) -> str | None:
    """The first character of `text` that is not printable ASCII, as `U+XXXX`."""
    if text.isascii() and text.isprintable():  # the usual case, checked in C: a token provider's
        return None  # token is checked on every request
    odd = next((c for c in text if not 32 <= ord(c) < 127), None)
    return None if odd is None else f"U+{ord(odd):04X}"


def token_problem(token: str) -> str | None:
    """Why `token` cannot go in an Authorization header, without showing the token."""
    if not token:
        return "is empty"
    if any(c in token for c in "\r\n\x00"):
        return "contains line breaks or NUL characters"
    odd = _odd_character(token)
    if odd:
        return (
            f"contains the character {odd}, which a token never has; "
            "was a quote or an ellipsis copied along with it?"
        )
    return None
