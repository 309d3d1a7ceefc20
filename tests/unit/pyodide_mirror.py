"""A stand-in for Pyodide's package release: a folder of small wheels and a lock naming them.

The official release (numpy, pandas, ...) cannot be reached from here, so tests build against
this instead, through the same flags a user gives for a mirror:

    cloche build --pyodide-packages MIRROR/packages --pyodide-lock MIRROR/pyodide-lock.json

From Python: `make_pyodide_mirror(folder)` returns a `Mirror` (its `.packages` folder and `.lock`
file). From a shell (e.g. an e2e set-up): `python tests/unit/pyodide_mirror.py FOLDER` writes the
same and prints `{"packages": ..., "lock": ...}` as JSON. The lock's `info` is npm pyodide's, so it
passes the build's platform check; every entry carries its wheel's real sha256. The wheels are
real wheels (METADATA, WHEEL, RECORD), installable by Pyodide's loadPackage and by pip.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NPM_LOCK = ROOT / "web" / "node_modules" / "pyodide" / "pyodide-lock.json"


@dataclass(frozen=True)
class MirrorPackage:
    """One pure wheel of the mirror: `modules` maps paths in the wheel to their source."""

    name: str
    version: str
    modules: dict[str, str]
    # Requires-Dist lines as written in METADATA (markers and extras included).
    requires: tuple[str, ...] = ()
    # The lock entry's `depends`: what Pyodide's build would have resolved (no extras, no markers).
    depends: tuple[str, ...] = ()
    imports: tuple[str, ...] = field(default=())


DEMO_PACKAGES = (
    MirrorPackage(
        "cloche-demo-dep",
        "1.0",
        {
            "cloche_demo_dep/__init__.py": (
                '"""A dependency that only the test mirror has."""\n'
                "from cloche_demo_base import GREETING\n\n\n"
                "def greet(name: str) -> str:\n"
                '    return f"{GREETING}, {name}!"\n'
            )
        },
        requires=(
            "cloche-demo-base",
            'pywin32; sys_platform == "win32"',
            'cloche-demo-extra; extra == "fancy"',
        ),
        depends=("cloche-demo-base",),
        imports=("cloche_demo_dep",),
    ),
    MirrorPackage(
        "cloche-demo-base",
        "1.0",
        {"cloche_demo_base/__init__.py": 'GREETING = "Hello from the mirror"\n'},
        imports=("cloche_demo_base",),
    ),
    MirrorPackage(
        "cloche-demo-extra",
        "1.0",
        {"cloche_demo_extra/__init__.py": "FANCY = True\n"},
        imports=("cloche_demo_extra",),
    ),
)


@dataclass(frozen=True)
class Mirror:
    packages: Path  # the folder to pass as --pyodide-packages
    lock: Path  # the file to pass as --pyodide-lock
    wheels: dict[str, Path]  # package name -> its wheel in `packages`

    def entry(self, name: str) -> dict[str, object]:
        entry: dict[str, object] = json.loads(self.lock.read_text())["packages"][name]
        return entry


def _record_line(path: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{path},sha256={digest},{len(data)}\n"


def write_wheel(folder: Path, package: MirrorPackage) -> Path:
    """A pure py3-none-any wheel of `package` in `folder`, with the same bytes on every run."""
    stem = package.name.replace("-", "_")
    info = f"{stem}-{package.version}.dist-info"
    metadata = f"Metadata-Version: 2.1\nName: {package.name}\nVersion: {package.version}\n"
    metadata += "".join(f"Requires-Dist: {line}\n" for line in package.requires)
    extras = sorted(
        {r.split('extra == "')[1].split('"')[0] for r in package.requires if "extra" in r}
    )
    metadata += "".join(f"Provides-Extra: {extra}\n" for extra in extras)
    wheel_file = (
        "Wheel-Version: 1.0\nGenerator: cloche-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files = {**package.modules, f"{info}/METADATA": metadata, f"{info}/WHEEL": wheel_file}
    record = "".join(_record_line(path, text.encode()) for path, text in files.items())
    record += f"{info}/RECORD,,\n"
    path = folder / f"{stem}-{package.version}-py3-none-any.whl"
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in [*files.items(), (f"{info}/RECORD", record)]:
            archive.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), text)
    return path


def make_pyodide_mirror(
    folder: Path, packages: tuple[MirrorPackage, ...] = DEMO_PACKAGES, npm_lock: Path = NPM_LOCK
) -> Mirror:
    """Write `packages`' wheels into folder/packages and their lock to folder/pyodide-lock.json."""
    wheels = {p.name: write_wheel(folder / "packages", p) for p in packages}
    entries = {}
    for package in packages:
        wheel = wheels[package.name]
        entries[package.name] = {
            "name": package.name,
            "version": package.version,
            "file_name": wheel.name,
            "install_dir": "site",
            "sha256": hashlib.sha256(wheel.read_bytes()).hexdigest(),
            "package_type": "package",
            "imports": list(package.imports),
            "depends": list(package.depends),
            "unvendored_tests": False,
            "tool": {},
        }
    info = json.loads(npm_lock.read_text())["info"]
    lock = folder / "pyodide-lock.json"
    lock.write_text(json.dumps({"info": info, "packages": entries}, indent=2, sort_keys=True))
    return Mirror(folder / "packages", lock, wheels)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(
            f"usage: {sys.argv[0]} FOLDER  (writes FOLDER/packages and FOLDER/pyodide-lock.json)"
        )
    mirror = make_pyodide_mirror(Path(sys.argv[1]))
    print(json.dumps({"packages": str(mirror.packages), "lock": str(mirror.lock)}))
