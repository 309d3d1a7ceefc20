"""Pure wheels from a PyPI index at run time (`cloche serve --allow-pypi`).

The newest py3-none-any wheel of a project comes from the index's JSON API (`/pypi/NAME/json`),
is fetched once into a cache and checked against the sha256 the index gives for it; a cached file
is checked again on every use. What the wheel needs and provides is read from the wheel itself
(METADATA, top_level.txt or RECORD), which is what Pyodide will install.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

from ._files import sha256_file
from .pure_wheels import is_pure

DEFAULT_PYPI_INDEX = "https://pypi.org"
MAX_WHEEL_BYTES = 100 * 2**20
_SHA256 = re.compile(r"[0-9a-f]{64}")


class UpstreamError(Exception):
    """What to answer the page: an HTTP status and one line naming the URL and what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass(frozen=True)
class IndexFile:
    name: str  # canonical
    version: str
    file_name: str
    url: str
    sha256: str


def _usable(entry: Any, python_version: str, python_full: str) -> IndexFile | None:
    """The file, if it is a pure wheel for this Python, not yanked, with a sha256."""
    if not isinstance(entry, dict) or entry.get("yanked"):
        return None
    file_name, url = entry.get("filename"), entry.get("url")
    digests = entry.get("digests")
    sha256 = digests.get("sha256") if isinstance(digests, dict) else None
    if not (isinstance(file_name, str) and isinstance(url, str) and isinstance(sha256, str)):
        return None
    if not (_SHA256.fullmatch(sha256) and url.startswith(("https://", "http://"))):
        return None
    try:
        name, version, _, tags = parse_wheel_filename(file_name)
        requires_python = entry.get("requires_python") or ""
        if requires_python and not SpecifierSet(requires_python).contains(python_full, True):
            return None
    except (InvalidWheelFilename, InvalidVersion, InvalidSpecifier):
        return None
    if not is_pure(tags, python_version):
        return None
    return IndexFile(str(name), str(version), file_name, url, sha256)


def newest_pure_wheel(
    document: dict[str, Any], python_version: str, python_full: str
) -> IndexFile | None:
    """The newest release's pure wheel in a project's JSON API answer (prereleases only if the
    index calls one its latest)."""
    latest = str(document.get("info", {}).get("version", ""))
    releases = document.get("releases")
    candidates: dict[str, Any] = dict(releases) if isinstance(releases, dict) else {}
    if latest:
        candidates[latest] = document.get("urls") or candidates.get(latest, [])
    versions: list[tuple[Version, list[Any]]] = []
    for text, files in candidates.items():
        try:
            version = Version(text)
        except InvalidVersion:
            continue
        if (not version.is_prerelease or text == latest) and isinstance(files, list):
            versions.append((version, files))
    for _, files in sorted(versions, key=lambda item: item[0], reverse=True):
        for entry in files:
            if found := _usable(entry, python_version, python_full):
                return found
    return None


def wheel_imports(wheel: Path, name: str) -> list[str]:
    """The top-level modules a wheel provides: its top_level.txt, else its RECORD's top folders
    and modules, else the project name as a module."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        top_level = next((n for n in names if n.endswith(".dist-info/top_level.txt")), None)
        if top_level is not None:
            lines = archive.read(top_level).decode().splitlines()
            found = [line.strip() for line in lines if line.strip()]
        else:
            found = []
            for path in names:
                first, slash, _ = path.partition("/")
                module = first if slash else first.removesuffix(".py")
                if (slash or first.endswith(".py")) and module.isidentifier():
                    found.append(module)
    return list(dict.fromkeys(found)) or [name.replace("-", "_")]


class PyPIIndex:
    """A PyPI-compatible index's JSON API, and a cache of the pure wheels fetched from it."""

    def __init__(self, index: str, cache: Path, python_full: str) -> None:
        self.index = index.rstrip("/")
        self.cache = cache
        self.python_full = python_full
        self.python_version = ".".join(python_full.split(".")[:2])
        self._known: dict[str, IndexFile] = {}  # file name -> what the index said of it
        self._locks: dict[str, asyncio.Lock] = {}

    async def newest(self, client: httpx.AsyncClient, name: str) -> IndexFile:
        url = f"{self.index}/pypi/{name}/json"
        document = await self._json(client, url)
        if document is None:
            raise UpstreamError(404, f"PyPI ({self.index}) has no project named {name}")
        found = newest_pure_wheel(document, self.python_version, self.python_full)
        if found is None:
            raise UpstreamError(
                404,
                f"{name} has no pure-Python wheel (py3-none-any) for Python {self.python_version} "
                f"on PyPI ({url}), and Pyodide cannot build one at run time",
            )
        self._known[found.file_name] = found
        return found

    async def file_of(self, client: httpx.AsyncClient, file_name: str) -> IndexFile:
        """What the index says of a wheel file: remembered from `newest`, else asked again."""
        if file_name in self._known:
            return self._known[file_name]
        try:
            name, version, _, _ = parse_wheel_filename(file_name)
        except (InvalidWheelFilename, InvalidVersion):
            raise UpstreamError(404, f"{file_name} is not a wheel file name") from None
        url = f"{self.index}/pypi/{name}/{version}/json"
        document = await self._json(client, url) or {}
        files = document.get("urls")
        for entry in files if isinstance(files, list) else []:
            found = _usable(entry, self.python_version, self.python_full)
            if found is not None and found.file_name == file_name:
                self._known[file_name] = found
                return found
        raise UpstreamError(
            404, f"{file_name} is not a pure wheel that PyPI ({url}) lists for {name} {version}"
        )

    async def fetch(self, client: httpx.AsyncClient, wanted: IndexFile) -> Path:
        """The wheel's file in the cache, checked against the index's sha256."""
        target = self.cache / wanted.file_name
        lock = self._locks.setdefault(wanted.file_name, asyncio.Lock())
        async with lock:
            if target.is_file() and await _sha256(target) == wanted.sha256:
                return target
            self.cache.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f"{target.name}.{os.getpid()}.part")
            try:
                actual = await self._download(client, wanted, partial)
                if actual != wanted.sha256:
                    raise UpstreamError(
                        502,
                        f"{wanted.file_name} from {wanted.url} has sha256 {actual}, but PyPI "
                        f"({self.index}) says {wanted.sha256}: refused",
                    )
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
        return target

    async def _download(self, client: httpx.AsyncClient, wanted: IndexFile, into: Path) -> str:
        digest, size = hashlib.sha256(), 0
        try:
            async with client.stream("GET", wanted.url) as response:
                if response.status_code != 200:
                    raise UpstreamError(
                        502,
                        f"{wanted.url} answered {response.status_code}: {wanted.file_name} "
                        "could not be fetched; try again later",
                    )
                with into.open("wb") as out:
                    async for chunk in response.aiter_bytes():
                        size += len(chunk)
                        if size > MAX_WHEEL_BYTES:
                            raise UpstreamError(
                                502, f"{wanted.url} is larger than {MAX_WHEEL_BYTES} bytes: refused"
                            )
                        digest.update(chunk)
                        out.write(chunk)
        except httpx.HTTPError as error:
            raise UpstreamError(502, _unreachable(wanted.url, error)) from None
        return digest.hexdigest()

    async def _json(self, client: httpx.AsyncClient, url: str) -> dict[str, Any] | None:
        """The JSON document at `url`, or None if the index answers 404."""
        try:
            response = await client.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as error:
            raise UpstreamError(502, _unreachable(url, error)) from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise UpstreamError(502, f"{url} answered {response.status_code}; try again later")
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise UpstreamError(502, f"{url} did not answer a JSON object: is it a PyPI index?")
        return document


def canonical(name: str) -> str:
    return str(canonicalize_name(name))


def _unreachable(url: str, error: Exception) -> str:
    reason = str(error) or type(error).__name__
    return (
        f"{url} could not be reached ({reason}); check this server's network, or point "
        "`cloche serve --pypi-index URL` at a mirror it can reach"
    )


async def _sha256(path: Path) -> str:
    return await anyio.to_thread.run_sync(sha256_file, path)
