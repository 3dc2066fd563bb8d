"""`python -m edm_client.testing serve`: the fake EDM API on a local port, in the foreground.

For notebooks, demos and clients in other languages. Prints the base URL and a token ready to
use, then serves until Ctrl-C (or SIGTERM). See docs/fake-server.md.
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from types import FrameType

from edm_client.testing._control import CONTROL_PREFIX, allowed_host
from edm_client.testing._fake_server import IDLE_TIMEOUT, MAX_IDLE_TIMEOUT, FakeServer
from edm_client.testing._openapi import OPENAPI_PATH
from edm_client.testing._rate_limit import TokenBucket

TOKEN_LIFETIME = 24 * 3600.0


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m edm_client.testing") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Tools around edm-sdk's fake EDM API.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the fake EDM API over HTTP until Ctrl-C",
        description="Run the fake EDM API over HTTP on this machine until Ctrl-C. Prints "
        "EDM_BASE_URL and EDM_API_KEY lines (or one JSON object with --json) once it "
        "accepts requests.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=0, help="port to listen on (0: any free)")
    serve.add_argument(
        "--seed-demo-data",
        action="store_true",
        help="start with a few realistic records of the demo tenant",
    )
    serve.add_argument(
        "--json", action="store_true", help="print the ready line as one JSON object"
    )
    serve.add_argument(
        "--rate-limit",
        type=_positive(float),
        metavar="RATE",
        help="limit each tenant to RATE requests per second (a token bucket); "
        "over it, 429 with Retry-After",
    )
    serve.add_argument(
        "--rate-burst",
        type=_positive(int),
        metavar="N",
        help="with --rate-limit: requests a tenant may send at once (default: RATE, rounded up)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=_positive(float, most=MAX_IDLE_TIMEOUT),
        default=IDLE_TIMEOUT,
        metavar="SECONDS",
        help="close a connection idle, or sending one request, for longer than this "
        f"(default {IDLE_TIMEOUT:g})",
    )
    serve.add_argument(
        "--allow-host",
        action="append",
        type=_host_name,
        default=[],
        metavar="NAME",
        help="a host name (besides IP addresses and localhost) the control API answers "
        "requests for, e.g. a docker compose service name; repeatable",
    )
    args = parser.parse_args(argv)
    if args.rate_burst is not None and args.rate_limit is None:
        parser.error("--rate-burst needs --rate-limit")
    rate_limit = None if args.rate_limit is None else TokenBucket(args.rate_limit, args.rate_burst)
    return _serve(
        args.host,
        args.port,
        seed=args.seed_demo_data,
        as_json=args.json,
        rate_limit=rate_limit,
        idle_timeout=args.idle_timeout,
        allowed_hosts=args.allow_host,
    )


def _positive(kind: type[float] | type[int], *, most: float = math.inf) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not (math.isfinite(value) and 0 < value <= most):
            limit = "" if most == math.inf else f" and at most {most:g}"
            raise argparse.ArgumentTypeError(f"must be above 0{limit}, not {text}")
        return value

    return parse


def _host_name(text: str) -> str:
    try:
        return allowed_host(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a host name without a port: {text!r}") from None


def _serve(
    host: str,
    port: int,
    *,
    seed: bool,
    as_json: bool,
    rate_limit: TokenBucket | None = None,
    idle_timeout: float = IDLE_TIMEOUT,
    allowed_hosts: Sequence[str] = (),
) -> int:
    server = FakeServer(rate_limit=rate_limit)
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with ExitStack() as stack:
            try:
                url = stack.enter_context(
                    server.serve(host, port, idle_timeout=idle_timeout, allowed_hosts=allowed_hosts)
                )
            except OSError as exc:
                reason = exc.strerror or str(exc)
                print(f"error: cannot listen on {host}:{port}: {reason}", file=sys.stderr)
                return 1
            records = server.seed_demo_data() if seed else []
            token = server.issue_token(expires_in=TOKEN_LIFETIME)
            _announce(server, url, token, len(records), as_json=as_json)
            while not stop.wait(3600):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    print("edm fake server stopped", file=sys.stderr)
    return 0


def _announce(server: FakeServer, url: str, token: str, seeded: int, *, as_json: bool) -> None:
    details = {
        "base_url": url,
        "token": token,
        "tenant_id": server.demo_tenant_id,
        "person_id": server.demo_person_id,
        "openapi_url": url + OPENAPI_PATH,
        "control_url": url + CONTROL_PREFIX,
        "seeded_records": seeded,
        "rate_limit": server.rate_limit and server.rate_limit.as_json(),
    }
    if as_json:
        print(json.dumps(details), flush=True)
        return
    limit = f"# rate limit: {server.rate_limit}\n" if server.rate_limit else ""
    print(
        f"EDM_BASE_URL={url}\n"
        f"EDM_API_KEY={token}\n"
        f"# edm fake server ready: tenant {server.demo_tenant_id}, {seeded} demo records; "
        f"token valid {TOKEN_LIFETIME / 3600:g} h\n"
        f"{limit}"
        f"# OpenAPI {url}{OPENAPI_PATH}, control API {url}{CONTROL_PREFIX}; Ctrl-C stops",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
