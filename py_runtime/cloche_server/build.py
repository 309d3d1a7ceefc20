"""`cloche build`: assemble dist/ (the static site) and the test dist, incrementally.

dist/ holds the web app, the Pyodide core (under a versioned path, so it may be cached forever),
the vendored browser libraries (vendored_npm.py), the pinned micropip wheel, the `cloche` wheel
and a pyodide-lock.json that lists exactly those wheels. The test dist is a flat Pyodide dist (the
layout pytest-pyodide expects) with the same wheels plus the ones pytest-pyodide loads inside
Pyodide; it is never part of dist/.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ._files import COMPRESSIBLE, copy_if_changed, precompress, remove_unlisted, write_if_changed
from .pyodide_lock_file import check_lock, write_lock
from .registry import REGISTRY_NAME, RegistryError, registry_json, with_boot_flags
from .vendored_npm import VendoredFileMissing, copy_vendored
from .wasm_memory_limit import MemoryLimitError, limit_memory

PYODIDE_CORE_FILES = ("pyodide.mjs", "pyodide.asm.mjs", "pyodide.asm.wasm", "python_stdlib.zip")
PYODIDE_WASM = "pyodide.asm.wasm"
# The Python heap's cap in dist/. Pyodide allows 4 GiB; half of it is far more than a tool call
# should need, keeps a runaway allocation from taking a whole 32-bit address space per worker, and
# stays below 2 GiB, where C code that keeps pointers in signed ints would start to break.
DEFAULT_PYTHON_MEMORY_MIB = 2048
# Files of web/ that are not part of the app.
WEB_EXCLUDED = {"node_modules", "package.json", "package-lock.json", "tsconfig.json"}
LOCK_NAME = "pyodide-lock.json"


class BuildError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return f"build failed: {self.message}"


@dataclass
class BuildReport:
    written: list[Path] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)
    downloaded: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"{len(self.written)} files written, {len(self.removed)} removed, "
            f"{len(self.downloaded)} downloaded"
        )


@dataclass(frozen=True)
class Project:
    root: Path

    @property
    def web(self) -> Path:
        return self.root / "web"

    @property
    def pyodide_npm(self) -> Path:
        return self.web / "node_modules" / "pyodide"

    @property
    def wheel_cache(self) -> Path:
        return self.root / ".cache" / "wheels"

    @property
    def own_wheels(self) -> Path:
        return self.root / "build" / "wheels"

    @property
    def default_dist(self) -> Path:
        return self.root / "dist"

    @property
    def default_test_dist(self) -> Path:
        return self.root / "build" / "test-dist"

    def pins(self, name: str) -> list[str]:
        lines = (self.root / "requirements" / name).read_text().splitlines()
        return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]

    def on_demand_packages(self) -> list[str]:
        """Packages the dist offers but the page does not load at boot: `[tool.cloche.dist]
        on-demand` in pyproject.toml. The runtime panel installs them when a user asks."""
        config = tomllib.loads((self.root / "pyproject.toml").read_text())
        names = config.get("tool", {}).get("cloche", {}).get("dist", {}).get("on-demand", [])
        if not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
            raise BuildError("pyproject.toml: [tool.cloche.dist] on-demand must be a list of names")
        return names

    def python_memory_bytes(self) -> int:
        """The Python worker's heap cap: `[tool.cloche.dist] python-memory-mib` in pyproject.toml,
        else DEFAULT_PYTHON_MEMORY_MIB. Written into pyodide.asm.wasm as its memory's maximum."""
        config = tomllib.loads((self.root / "pyproject.toml").read_text())
        dist = config.get("tool", {}).get("cloche", {}).get("dist", {})
        mib = dist.get("python-memory-mib", DEFAULT_PYTHON_MEMORY_MIB)
        if not (type(mib) is int and 64 <= mib <= 4096):
            raise BuildError(
                "pyproject.toml: [tool.cloche.dist] python-memory-mib must be a whole number "
                f"of MiB from 64 to 4096, not {mib!r}"
            )
        return mib * 2**20

    def pyodide_version(self) -> str:
        package = self.pyodide_npm / "package.json"
        if not package.is_file():
            raise BuildError(f"{package} is missing: run `npm ci` in web/ (scripts/build does it)")
        return str(json.loads(package.read_text())["version"])


def find_project_root(start: Path | None = None) -> Path:
    """The checkout that holds pyproject.toml and web/: from the cwd upward, else this package's."""
    candidates = [start or Path.cwd(), Path(__file__).resolve().parents[2]]
    for candidate in candidates:
        for folder in [candidate, *candidate.parents]:
            if (folder / "pyproject.toml").is_file() and (folder / "web").is_dir():
                return folder
    raise BuildError("no Cloche checkout found (a folder with pyproject.toml and web/)")


def pinned_wheel(project: Project, pin: str, report: BuildReport, offline: bool) -> Path:
    """The cached pure-Python wheel for `name==version`, downloaded from PyPI once."""
    name, _, version = pin.partition("==")
    if not version:
        raise BuildError(f"requirement {pin!r} must pin an exact version (name==version)")
    stem = re.sub(r"[-_.]+", "_", name).lower()
    pattern = re.compile(rf"{re.escape(stem)}-{re.escape(version)}-.*-none-any\.whl", re.I)
    cache = project.wheel_cache
    found = [p for p in cache.glob("*.whl") if pattern.fullmatch(p.name)] if cache.is_dir() else []
    if found:
        return found[0]
    if offline:
        raise BuildError(f"{pin} is not in {cache} and downloads are off (--offline)")
    cache.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
    command += ["--only-binary=:all:", "--python-version", "3.14", "--implementation", "py"]
    command += ["--abi", "none", "--platform", "any", "--dest", str(cache), pin]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = [p for p in cache.glob("*.whl") if pattern.fullmatch(p.name)]
    if result.returncode != 0 or not found:
        raise BuildError(f"could not download a pure wheel for {pin}: {result.stderr.strip()}")
    report.downloaded.append(pin)
    return found[0]


def _source_digest(root: Path, files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in files:
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(root)).encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _wheel(source: Path, out: Path, name: str, digest: str) -> Path:
    """Build the wheel of the project in `source` into `out`, unless `digest` says it is current."""
    stamp = out / f"{name}.sources-sha256"
    pattern = f"{re.sub(r'[-_.]+', '_', name).lower()}-*.whl"
    wheels = sorted(out.glob(pattern))
    if len(wheels) == 1 and stamp.is_file() and stamp.read_text() == digest:
        return wheels[0]
    for old in wheels:
        old.unlink()
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps"]
    command += ["--no-build-isolation", "--no-index", "--wheel-dir", str(out), str(source)]
    # hatchling writes the same bytes for the same sources when this is set.
    env = {**os.environ, "SOURCE_DATE_EPOCH": "315532800"}
    result = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    wheels = sorted(out.glob(pattern))
    if result.returncode != 0 or len(wheels) != 1:
        raise BuildError(f"building the {name} wheel failed: {result.stderr.strip()}")
    stamp.write_text(digest)
    return wheels[0]


def cloche_wheel(project: Project) -> Path:
    """Build the `cloche` wheel when its sources changed since the last build."""
    files = [project.root / "pyproject.toml", project.root / "README.md"]
    files += sorted((project.root / "py_runtime").rglob("*"))
    digest = _source_digest(project.root, files)
    return _wheel(project.root, project.own_wheels, "cloche", digest)


def tool_package_dirs(project: Project) -> list[Path]:
    """The first-party Python tool packages: tool_packages/python/<name>/pyproject.toml."""
    return sorted(
        p.parent for p in (project.root / "tool_packages" / "python").glob("*/pyproject.toml")
    )


def tool_wheel(project: Project, package: Path) -> Path:
    """Build one tool package's wheel when its sources changed since the last build."""
    digest = _source_digest(package, sorted(package.rglob("*")))
    name = str(tomllib.loads((package / "pyproject.toml").read_text())["project"]["name"])
    return _wheel(package, project.own_wheels / "tools" / package.name, name, digest)


def _web_files(project: Project) -> list[Path]:
    files = []
    for path in sorted(project.web.rglob("*")):
        parts = path.relative_to(project.web).parts
        if path.is_file() and not (set(parts) & WEB_EXCLUDED) and "__pycache__" not in parts:
            files.append(path)
    return files


class _Output:
    """Collects what one dist folder should hold, writing only what changed."""

    def __init__(self, root: Path, report: BuildReport) -> None:
        self.root = root
        self.report = report
        self.keep: set[Path] = set()

    def copy(self, src: Path, relative: str) -> Path:
        dst = self.root / relative
        if copy_if_changed(src, dst):
            self.report.written.append(dst)
        self.keep.add(dst)
        return dst

    def write(self, relative: str, data: bytes) -> Path:
        dst = self.root / relative
        if write_if_changed(dst, data):
            self.report.written.append(dst)
        self.keep.add(dst)
        return dst

    def finish(self, compress: bool) -> None:
        if compress:
            for path in sorted(self.keep):
                if path.suffix in COMPRESSIBLE:
                    self.keep.update(precompress(path))
        self.report.removed += remove_unlisted(self.root, self.keep)
        problems = check_lock(self.root)
        if problems:
            raise BuildError("the lock does not match the dist: " + "; ".join(map(str, problems)))


def _lock(project: Project, out: _Output, wheels: list[Path]) -> None:
    for wheel in wheels:
        out.copy(wheel, wheel.name)
    out.write(LOCK_NAME, write_lock(project.pyodide_npm / LOCK_NAME, wheels, out.root))


def _capped_pyodide(project: Project) -> bytes:
    """pyodide.asm.wasm with its memory's maximum lowered to the heap cap: Pyodide's own memory
    could grow to 4 GiB, and a heap never shrinks until its worker is replaced."""
    source = project.pyodide_npm / PYODIDE_WASM
    try:
        return limit_memory(source.read_bytes(), project.python_memory_bytes())
    except MemoryLimitError as error:
        raise BuildError(f"cannot cap the Python heap in {source}: {error}") from None


def build_dist(project: Project, dist: Path, wheels: list[Path], report: BuildReport) -> None:
    version = project.pyodide_version()
    core = f"pyodide/v{version}/"
    out = _Output(dist, report)
    for path in _web_files(project):
        out.copy(path, str(path.relative_to(project.web)))
    core_sizes = {}
    for name in PYODIDE_CORE_FILES:
        if name == PYODIDE_WASM:
            written = out.write(core + name, _capped_pyodide(project))
        else:
            written = out.copy(project.pyodide_npm / name, core + name)
        core_sizes[name] = written.stat().st_size
    _lock(project, out, wheels)
    from .wasm_dist import WasmDistError, copy_wasm, with_wasm_packages

    try:
        copy_vendored(project.root, out)
        wasm_packages = copy_wasm(project.root, out)
        document = with_wasm_packages(registry_json(wheels), wasm_packages)
        out.write(REGISTRY_NAME, with_boot_flags(document, project.on_demand_packages()))
    except (RegistryError, VendoredFileMissing, WasmDistError) as error:
        raise BuildError(str(error)) from None
    from cloche import __version__

    info = {
        "cloche": __version__,
        "pyodide": version,
        "pyodideIndexURL": core,
        "lockFileURL": LOCK_NAME,
        "coreFiles": core_sizes,
    }
    out.write("build-info.json", (json.dumps(info, indent=2, sort_keys=True) + "\n").encode())
    out.finish(compress=True)


def build_test_dist(
    project: Project, test_dist: Path, wheels: list[Path], report: BuildReport
) -> None:
    out = _Output(test_dist, report)
    for name in PYODIDE_CORE_FILES:
        out.copy(project.pyodide_npm / name, name)
    _lock(project, out, wheels)
    out.finish(compress=False)


def build(
    root: Path | None = None,
    dist: Path | None = None,
    test_dist: Path | None = None,
    *,
    with_test_dist: bool = True,
    offline: bool = False,
) -> BuildReport:
    project = Project(root or find_project_root())
    report = BuildReport()
    runtime = [pinned_wheel(project, pin, report, offline) for pin in project.pins("pyodide.txt")]
    tools = [tool_wheel(project, package) for package in tool_package_dirs(project)]
    wheels = [*runtime, cloche_wheel(project), *tools]
    build_dist(project, dist or project.default_dist, wheels, report)
    if with_test_dist:
        pins = project.pins("pyodide-test.txt")
        test_wheels = [pinned_wheel(project, pin, report, offline) for pin in pins]
        build_test_dist(
            project, test_dist or project.default_test_dist, wheels + test_wheels, report
        )
    return report
