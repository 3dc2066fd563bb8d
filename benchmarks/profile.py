"""Profile one benchmark row with pyinstrument (a dev dependency) and print the call tree.

    python benchmarks/profile.py create            # a row of `run.py`, by a word of its name
    python benchmarks/profile.py "list page" -n 2000
    python benchmarks/profile.py fake              # the FakeServer loop of `run.py`

The tree shows where the time of the SDK's own code goes (`edm_client/...` frames) next to
httpx's and pydantic's. Profile before changing code, and compare with `run.py`, which is
what the targets are judged on: a profiler slows Python code far more than C code.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run  # the benchmark module next to this file


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("row", help="a word of the row's name, e.g. get, create, list, fake")
    parser.add_argument("-n", type=int, default=5000, help="operations to profile")
    args = parser.parse_args(argv)
    try:
        pyinstrument: Any = importlib.import_module("pyinstrument")
    except ImportError:
        print("pyinstrument is not installed: pip install -e '.[dev]'", file=sys.stderr)
        return 2
    loop = asyncio.new_event_loop()
    benches, close = run.overhead_benches(loop)
    work: Callable[[], object]
    if args.row == "fake":
        work = lambda: run.fake_throughput(seconds=2.0, rounds=1)  # noqa: E731
    else:
        rows = [b for b in benches if args.row in b.name and not b.name.startswith("floor")]
        if not rows:
            print(f"no row matches {args.row!r}", file=sys.stderr)
            return 2
        bench = rows[0]
        bench.run(100)  # warm up: adapters built, modules imported
        work = lambda: bench.run(args.n)  # noqa: E731
    profiler = pyinstrument.Profiler(interval=0.0002)
    profiler.start()
    work()
    profiler.stop()
    close()
    loop.close()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
