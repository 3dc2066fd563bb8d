"""Check the built wheel and sdist the way a user meets them: `pip install` from an index.

    python scripts/check_dist.py [DIST_DIR]

DIST_DIR (default `dist`) must hold exactly one wheel and one sdist, as `make dist` leaves it.
The checks:

- wheel: every file of `src/edm_client` (py.typed included) and nothing else of the checkout
  but top-level `pytest11` plugin modules (no tests/, benchmarks/, caches); the licence;
  metadata (version from `_version.py`, Apache-2.0, requires-python, `Typing :: Typed`,
  README as Markdown, project URLs, keywords);
  runtime dependencies limited to the four the package may need; every entry point declared in
  pyproject's `[project.scripts]` / `[project.entry-points]` present in `entry_points.txt`.
- sdist: README, LICENSE, CHANGELOG, pyproject and every file of src/, tests/ and examples/.
- a fresh virtual environment with no dev dependencies: the wheel installs under the name
  `edm-sdk`, `edm_client` imports from it (not from src/) with `__version__` equal to the
  installed `edm-sdk` metadata, its entry points resolve, each console script answers
  `--help` (or names the extra to install), `examples/quickstart.py` runs against the embedded
  fake, and `mypy --strict` sees the package's types. Then, with pytest added, every `pytest11`
  plugin loads.

Exits 1 listing every problem found, 0 when there is none.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from email.message import Message
from email.parser import Parser
from pathlib import Path
from typing import Any

# tomllib is in the standard library from 3.11; the dev extra installs tomli on 3.10.
tomllib = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "edm_client"
# Published under a name of its own: `edm-client` on the index is an unrelated library.
DISTRIBUTION = "edm-sdk"
# The wheel and sdist file names and the dist-info folder use the normalized name.
FILE_PREFIX = DISTRIBUTION.replace("-", "_")
RUNTIME_DEPENDENCIES = {"httpx", "pydantic", "python-ulid", "typing-extensions"}
FORBIDDEN_PARTS = {"tests", "benchmarks", "__pycache__", ".venv", "site", "dist", "build"}
SDIST_REQUIRED = ["README.md", "LICENSE", "CHANGELOG.md", "pyproject.toml", "PKG-INFO"]
IGNORED_PARTS = {"__pycache__", ".mypy_cache", ".pytest_cache", ".hypothesis", ".ruff_cache"}

problems: list[str] = []


def problem(text: str) -> None:
    problems.append(text)
    print(f"  FAIL {text}")


def ok(text: str) -> None:
    print(f"  ok   {text}")


def source_files(folder: str) -> set[str]:
    """Files of the checkout under `folder`, relative to the root, without caches."""
    base = ROOT / folder
    return {
        path.relative_to(ROOT).as_posix()
        for path in base.rglob("*")
        if path.is_file()
        and not IGNORED_PARTS.intersection(path.relative_to(ROOT).parts)
        and path.suffix != ".pyc"
    }


def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        project: dict[str, Any] = tomllib.load(file)["project"]
    return project


def declared_entry_points() -> dict[str, dict[str, str]]:
    """`{group: {name: "module:attr"}}` as pyproject declares them."""
    project = pyproject()
    groups: dict[str, dict[str, str]] = {}
    for key, group in (("scripts", "console_scripts"), ("gui-scripts", "gui_scripts")):
        if project.get(key):
            groups[group] = dict(project[key])
    for group, entries in (project.get("entry-points") or {}).items():
        groups[group] = dict(entries)
    return groups


def version() -> str:
    text = (ROOT / "src" / PACKAGE / "_version.py").read_text()
    found = re.search(r"""__version__\s*=\s*["']([^"']+)["']""", text)
    if found is None:
        raise SystemExit("no __version__ in src/edm_client/_version.py")
    return found.group(1)


def find_dist(dist: Path) -> tuple[Path, Path]:
    wheels = sorted(dist.glob("*.whl"))
    sdists = sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        raise SystemExit(
            f"{dist} must hold exactly one wheel and one sdist, found {len(wheels)} and "
            f"{len(sdists)}; run `make dist` (it empties {dist} first)"
        )
    return wheels[0], sdists[0]


# -- wheel ---------------------------------------------------------------------------------


def check_wheel(wheel: Path, expected_version: str) -> None:
    print(f"wheel {wheel.name}")
    dist_info = f"{FILE_PREFIX}-{expected_version}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        if f"{dist_info}/METADATA" not in names:
            problem(f"no {dist_info}/METADATA: the wheel is not version {expected_version}")
            return
        metadata_text = archive.read(f"{dist_info}/METADATA").decode()
        shipped = importlib.metadata.PathDistribution(zipfile.Path(archive, f"{dist_info}/"))
        entry_points = {(ep.group, ep.name): ep.value for ep in shipped.entry_points}

    package_files = {name for name in names if name.startswith(f"{PACKAGE}/")}
    expected = {path.removeprefix("src/") for path in source_files(f"src/{PACKAGE}")}
    missing = sorted(expected - package_files)
    extra = sorted(package_files - expected)
    if missing:
        problem(f"files of src/{PACKAGE} missing from the wheel: {missing}")
    if extra:
        problem(f"files in the wheel that are not in src/{PACKAGE}: {extra}")
    if not missing and not extra:
        ok(f"carries exactly the {len(expected)} files of src/{PACKAGE}")
    if f"{PACKAGE}/py.typed" in names:
        ok("carries py.typed")
    else:
        problem(f"{PACKAGE}/py.typed is missing: type checkers would ignore the package")

    # A pytest11 plugin may be a top-level module, so that pytest loading it imports nothing.
    plugin_modules = {
        value.split(":")[0].strip() + ".py"
        for value in declared_entry_points().get("pytest11", {}).values()
    }
    outside = sorted(
        n
        for n in names
        if not n.startswith((f"{PACKAGE}/", f"{dist_info}/")) and n not in plugin_modules
    )
    if outside:
        problem(f"files outside the package and its dist-info: {outside}")
    forbidden = sorted(n for n in names if FORBIDDEN_PARTS.intersection(n.split("/")[:-1]))
    forbidden += sorted(n for n in names if n.endswith((".pyc", "conftest.py")))
    if forbidden:
        problem(f"tests, benchmarks or caches shipped in the wheel: {forbidden}")
    else:
        ok("no tests/, benchmarks/, conftest.py or caches")
    if f"{dist_info}/licenses/LICENSE" in names:
        ok("carries LICENSE")
    else:
        problem("LICENSE is missing from the wheel's dist-info")

    check_metadata(Parser().parsestr(metadata_text), expected_version)
    check_entry_points(entry_points)


def check_metadata(metadata: Message, expected_version: str) -> None:
    expect = {
        "Name": DISTRIBUTION,
        "Version": expected_version,
        "License-Expression": "Apache-2.0",
        "Description-Content-Type": "text/markdown",
    }
    for field, value in expect.items():
        if metadata.get(field) != value:
            problem(f"metadata {field} is {metadata.get(field)!r}, expected {value!r}")
    summary = metadata.get("Summary") or ""
    if not summary.strip():
        problem("metadata Summary is empty")
    if not (metadata.get("Requires-Python") or "").startswith(">="):
        problem(f"metadata Requires-Python is {metadata.get('Requires-Python')!r}")
    if not (metadata.get("Keywords") or "").strip():
        problem("metadata Keywords is empty")
    classifiers = metadata.get_all("Classifier") or []
    for classifier in ("Typing :: Typed", "Programming Language :: Python :: 3 :: Only"):
        if classifier not in classifiers:
            problem(f"classifier {classifier!r} is missing")
    minimum = (metadata.get("Requires-Python") or ">=3.10").removeprefix(">=")
    if f"Programming Language :: Python :: {minimum}" not in classifiers:
        problem(f"no classifier for the oldest supported Python, {minimum}")
    # The project has no public address yet, so no URLs is right; one that is there must be
    # https (docs/versioning.md says where to report bugs meanwhile).
    urls = metadata.get_all("Project-URL") or []
    for url in urls:
        if not url.partition(", ")[2].startswith("https://"):
            problem(f"Project-URL {url!r} is not an https address")
    body = metadata.get_payload()
    if not isinstance(body, str) or f"# {DISTRIBUTION}" not in body:
        problem("the long description is not the README")

    runtime = set()
    for requirement in metadata.get_all("Requires-Dist") or []:
        if "extra ==" in requirement:
            continue
        name = re.split(r"[\s<>=!~;\[(]", requirement, maxsplit=1)[0]
        runtime.add(name.lower().replace("_", "-"))
    if runtime - RUNTIME_DEPENDENCIES:
        problem(
            f"runtime dependencies beyond {sorted(RUNTIME_DEPENDENCIES)}: "
            f"{sorted(runtime - RUNTIME_DEPENDENCIES)} (put them in an optional extra)"
        )
    if not any(p.startswith("metadata") for p in problems):
        ok(
            f"metadata: {metadata['Name']} {metadata['Version']}, {metadata['License-Expression']},"
            f" Python {metadata['Requires-Python']}, {len(classifiers)} classifiers,"
            f" {len(urls)} project URLs, runtime deps {sorted(runtime)}"
        )


def check_entry_points(shipped: dict[tuple[str, str], str]) -> None:
    """Every entry point pyproject declares is in the wheel's entry_points.txt, and no other."""
    declared = declared_entry_points()
    for group, entries in declared.items():
        for name, value in entries.items():
            got = shipped.get((group, name))
            if got == value:
                ok(f"entry point [{group}] {name} = {value}")
            else:
                problem(f"entry point [{group}] {name} = {value} is {got!r} in entry_points.txt")
    undeclared = sorted(key for key in shipped if key[1] not in declared.get(key[0], {}))
    if undeclared:
        problem(f"entry points in the wheel that pyproject does not declare: {undeclared}")
    if not declared:
        ok("pyproject declares no entry points")


# -- sdist ---------------------------------------------------------------------------------


def check_sdist(sdist: Path, expected_version: str) -> None:
    print(f"sdist {sdist.name}")
    prefix = f"{FILE_PREFIX}-{expected_version}/"
    with tarfile.open(sdist) as archive:
        names = {m.name.removeprefix(prefix) for m in archive.getmembers() if m.isfile()}
    for required in SDIST_REQUIRED:
        if required not in names:
            problem(f"{required} is missing from the sdist")
    # The tests run the examples, so the sdist needs them too.
    wanted = source_files("src") | source_files("tests") | source_files("examples")
    missing = sorted(wanted - names)
    if missing:
        problem(f"files of src/, tests/ or examples/ missing from the sdist: {missing}")
    junk = sorted(n for n in names if IGNORED_PARTS.intersection(n.split("/")) or ".venv/" in n)
    if junk:
        problem(f"caches or the virtualenv in the sdist: {junk}")
    if not missing and not junk and all(r in names for r in SDIST_REQUIRED):
        ok(f"{', '.join(SDIST_REQUIRED[:-1])}, src/, tests/, examples/ ({len(names)} files)")


# -- a fresh virtual environment -------------------------------------------------------------

PROBE = """
import importlib.metadata as md, importlib.util, json, sys
import edm_client
declared = json.loads(sys.argv[1])
found = {}
for group, entries in declared.items():
    for name, value in entries.items():
        eps = [ep for ep in md.entry_points(group=group) if ep.name == name]
        module = value.split(":")[0].strip()
        found[f"{group}:{name}"] = {
            "value": eps[0].value if eps else None,
            "module_found": importlib.util.find_spec(module) is not None,
        }
def installed(name):
    try:
        return md.version(name)
    except md.PackageNotFoundError:
        return None
print(json.dumps({
    "file": edm_client.__file__,
    "version": edm_client.__version__,
    "distributions": {name: installed(name) for name in sys.argv[2:]},
    "dev_tools": [m for m in ("pytest", "mypy", "respx", "ruff") if importlib.util.find_spec(m)],
    "entry_points": found,
}))
"""


def run(
    args: list[str | Path],
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


class FreshVenv:
    """A virtual environment in a temporary folder, with nothing but what is installed into it.

    Commands run outside the checkout, without PYTHONPATH or EDM_* settings, so nothing can
    come from src/ or reach a real server.
    """

    def __init__(self, work: Path) -> None:
        self.work = work
        self.path = work / "venv"
        self.bin = self.path / ("Scripts" if os.name == "nt" else "bin")
        self.python = self.bin / "python"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("EDM_", "PYTHON"))}
        self.env.pop("VIRTUAL_ENV", None)

    def create(self) -> bool:
        created = run([sys.executable, "-m", "venv", "--without-pip", self.path])
        if created.returncode:
            problem(f"could not create a virtual environment: {created.stderr.strip()}")
        return created.returncode == 0

    def pip_install(self, *requirements: str | Path) -> bool:
        # The checkout's pip installs into the fresh venv, which stays free of pip itself.
        args: list[str | Path] = [sys.executable, "-m", "pip", "--python", self.python]
        installed = self.run([*args, "install", "--quiet", *requirements])
        if installed.returncode:
            problem(f"pip install {requirements} failed:\n{installed.stdout}{installed.stderr}")
        return installed.returncode == 0

    def run(self, args: list[str | Path], timeout: float = 120) -> subprocess.CompletedProcess[str]:
        try:
            return run(args, env=self.env, cwd=self.work, timeout=timeout)
        except subprocess.TimeoutExpired:
            message = f"{' '.join(map(str, args))} did not finish within {timeout:g} s\n"
            return subprocess.CompletedProcess(args, returncode=-1, stdout="", stderr=message)


def check_fresh_install(wheel: Path, expected_version: str) -> None:
    print("fresh virtual environment")
    declared = declared_entry_points()
    with tempfile.TemporaryDirectory(prefix="edm-release-check-") as tmp:
        venv = FreshVenv(Path(tmp))
        # Asked for by name, so pip itself checks that the wheel's metadata says edm-sdk.
        if not venv.create() or not venv.pip_install(f"{DISTRIBUTION} @ {wheel.as_uri()}"):
            return
        ok(f"pip install {DISTRIBUTION} from the wheel (runtime dependencies only)")
        if not check_installed_package(venv, expected_version, declared):
            return
        check_console_scripts(venv, declared.get("console_scripts", {}))
        check_quickstart(venv)
        # Last, as it adds pytest: a pytest11 plugin loads in every pytest run of the
        # environment, so it must import with nothing but pytest and the runtime dependencies.
        check_pytest_plugins(venv, declared.get("pytest11", {}))


def check_installed_package(
    venv: FreshVenv, expected_version: str, declared: dict[str, dict[str, str]]
) -> bool:
    old_name = "edm-client"
    probe = venv.run([venv.python, "-c", PROBE, json.dumps(declared), DISTRIBUTION, old_name])
    if probe.returncode:
        problem(f"importing edm_client from the wheel failed:\n{probe.stderr}")
        return False
    seen = json.loads(probe.stdout)
    if Path(seen["file"]).resolve().is_relative_to(venv.path.resolve()):
        ok(f"edm_client {seen['version']} imports from the venv, not from src/")
    else:
        problem(f"edm_client was imported from {seen['file']}, not from the wheel")
    if seen["version"] != expected_version:
        problem(f"installed __version__ is {seen['version']}, expected {expected_version}")
    installed = seen["distributions"]
    if installed[DISTRIBUTION] != seen["version"]:
        problem(
            f"the installed {DISTRIBUTION} distribution is {installed[DISTRIBUTION]!r}, but "
            f"edm_client.__version__ is {seen['version']!r}"
        )
    else:
        ok(f"installed as {DISTRIBUTION} {installed[DISTRIBUTION]}, matching __version__")
    if installed[old_name] is not None:
        problem(f"a distribution named {old_name} is installed too: {installed[old_name]}")
    if seen["dev_tools"]:
        problem(f"dev tools present in the fresh venv: {seen['dev_tools']}")
    for group, entries in declared.items():
        for name, value in entries.items():
            info = seen["entry_points"][f"{group}:{name}"]
            if info["value"] != value or not info["module_found"]:
                problem(f"entry point [{group}] {name} does not resolve when installed: {info}")
            else:
                ok(f"installed entry point [{group}] {name} -> {value}")
    return True


def check_console_scripts(venv: FreshVenv, scripts: dict[str, str]) -> None:
    """Each script runs `--help`, or says which extra to install; never a traceback."""
    for name in scripts:
        script = venv.bin / name
        if not script.exists():
            problem(f"console script {name!r} was not installed into {venv.bin}")
            continue
        ran = venv.run([script, "--help"])
        output = ran.stdout + ran.stderr
        names_extra = "pip install" in output and f"{DISTRIBUTION}[" in output
        if "Traceback" in output or (ran.returncode and not names_extra):
            problem(f"`{name} --help` without extras exited {ran.returncode}:\n{output}")
        else:
            how = "works" if ran.returncode == 0 else "names the extra to install"
            ok(f"`{name} --help` {how} without extras")


def check_quickstart(venv: FreshVenv) -> None:
    quickstart = venv.work / "quickstart.py"
    shutil.copy(ROOT / "examples" / "quickstart.py", quickstart)
    ran = venv.run([venv.python, quickstart])
    if ran.returncode or "embedded fake" not in ran.stdout:
        problem(f"examples/quickstart.py failed from the wheel:\n{ran.stdout}{ran.stderr}")
    else:
        ok("examples/quickstart.py runs from the wheel against the embedded fake")
    # mypy from the checkout, reading the fresh venv's site-packages: only a wheel with
    # py.typed gives it the package's types.
    mypy: list[str | Path] = [sys.executable, "-m", "mypy", "--strict", "--no-incremental"]
    typed = venv.run([*mypy, "--python-executable", venv.python, quickstart])
    if typed.returncode:
        problem(f"mypy --strict on the quickstart against the wheel:\n{typed.stdout}")
    else:
        ok("mypy --strict type-checks the quickstart against the installed wheel")


def check_pytest_plugins(venv: FreshVenv, plugins: dict[str, str]) -> None:
    if not plugins or not venv.pip_install("pytest"):
        return
    pytest: list[str | Path] = [venv.python, "-m", "pytest", "-p", "no:cacheprovider"]
    ran = venv.run([*pytest, "--trace-config", "--collect-only", "-q"])
    no_tests_collected = 5
    output = ran.stdout + ran.stderr
    if ran.returncode not in (0, no_tests_collected):
        problem(f"pytest does not start with the plugin installed:\n{output}")
        return
    for name, value in plugins.items():
        module = value.split(":")[0].strip()
        if f"'{module}'" in output:
            ok(f"pytest loads the plugin {name} ({module}) with only pytest added")
        else:
            problem(f"pytest did not load the plugin {name} ({module}):\n{output}")


def main() -> int:
    dist = (Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "dist").resolve()
    wheel, sdist = find_dist(dist)
    expected_version = version()
    check_wheel(wheel, expected_version)
    check_sdist(sdist, expected_version)
    check_fresh_install(wheel, expected_version)
    if problems:
        print(f"\n{len(problems)} problem(s) with the distribution; see FAIL above.")
        return 1
    print("\nThe wheel and sdist are ready to publish.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
