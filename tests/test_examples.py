"""The examples run against the embedded fake and print what they promise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).parent.parent / "examples"


def run_example(name: str, *args: str, **extra_env: str) -> str:
    return run_example_code(None, str(EXAMPLES / name), *args, **extra_env)


def run_example_code(code: str | None, *args: str, **extra_env: str) -> str:
    """Runs `python -c code args` (`python args` without code) as the examples are run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDM_")} | extra_env
    result = subprocess.run(
        [sys.executable, *(["-c", code] if code else []), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    return result.stdout


def test_import_lms_export_imports_the_sample_and_reruns_without_duplicates():
    out = run_example("import_lms_export.py")

    assert "using an embedded fake EDM server" in out
    first, again = out.split("Importing it again")
    assert "8 rows: 6 created, 0 already imported, 2 failed" in first
    assert "line 7 (HashiCorp Terraform Associate): score: must be between 0 and 100" in first
    assert "line 8 (Fire Safety Awareness): person_id: is required" in first
    assert "8 rows: 0 created, 6 already imported, 2 failed" in again


def test_expiring_certifications_lists_only_the_next_90_days_soonest_first():
    out = run_example("expiring_certifications.py")

    lines = out.splitlines()
    table = lines[lines.index("Expiring in the next 90 days: 3") + 1 :]
    assert table[0].split() == ["expires", "days", "left", "person", "title", "provider"]
    assert [row.split()[2] for row in table[2:]] == ["Ada", "Grace", "Linus"]
    assert "Google Cloud" not in out  # expired three days ago
    assert "Kubernetes" not in out  # expires in over a year


def test_expiring_certifications_can_look_at_one_person():
    out = run_example("expiring_certifications.py", "Grace")

    assert "Expiring in the next 90 days: 1" in out
    assert "Certified ScrumMaster" in out


def test_quickstart_creates_gets_and_lists_against_the_embedded_fake():
    out = run_example("quickstart.py")

    assert out.startswith("EDM_BASE_URL and EDM_API_KEY are not set: using an embedded fake")
    assert "created per_" in out
    assert "fetched per_" in out
    assert "  - AWS Solutions Architect [AWS] expires 2029-03-01" in out
    assert "  - Kubernetes Fundamentals [Coursera] expires never" in out


def test_quickstart_names_the_one_variable_that_is_missing():
    out = run_example("quickstart.py", EDM_BASE_URL="https://edm.example.com")

    assert out.startswith("EDM_API_KEY is not set: using an embedded fake EDM server.")


def test_parallel_import_imports_with_worker_processes_and_reruns_without_duplicates():
    out = run_example(
        "parallel_import.py", "--workers", "2", "--sample-rows", "120", "--shard-rows", "40"
    )

    assert out.startswith("EDM_BASE_URL and EDM_API_KEY are not set: serving an embedded fake")
    first, again = out.split("Importing it again")
    assert "120 rows: 120 created, 0 already imported, 0 failed" in first
    assert "120 rows: 0 created, 120 already imported, 0 failed" in again


# Runs the quickstart (argv[1]) with every module that is neither the standard library,
# edm_client, nor part of a runtime dependency of edm-sdk (followed transitively, extras left
# out) made unimportable, as in a venv that holds the runtime dependencies only. Optional
# imports (httpx tries click and rich) then fail as they would there.
RUNTIME_ONLY_PROBE = """
import importlib.abc, importlib.metadata as md, json, runpy, sys
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

def runtime_closure(name, seen):
    if canonicalize_name(name) not in seen:
        seen.add(canonicalize_name(name))
        for line in md.requires(name) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                runtime_closure(requirement.name, seen)
    return seen

allowed = runtime_closure("edm-sdk", set())
hidden = {
    module
    for module, owners in md.packages_distributions().items()
    if not {canonicalize_name(owner) for owner in owners} & allowed
} - set(sys.stdlib_module_names) - {"edm_client"}

class Hide(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in hidden:
            raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)
        return None

for name in [name for name in sys.modules if name.partition(".")[0] in hidden]:
    del sys.modules[name]
sys.meta_path.insert(0, Hide())
print(json.dumps(sorted(hidden)))
runpy.run_path(sys.argv[1], run_name="__main__")
"""


def test_quickstart_runs_with_only_the_runtime_dependencies_importable():
    out = run_example_code(RUNTIME_ONLY_PROBE, str(EXAMPLES / "quickstart.py"))

    hidden, _, printed = out.partition("\n")
    assert {"pytest", "mypy", "respx", "pandas", "click", "rich"} <= set(json.loads(hidden))
    assert "created per_" in printed
    assert "  - Kubernetes Fundamentals [Coursera] expires never" in printed
