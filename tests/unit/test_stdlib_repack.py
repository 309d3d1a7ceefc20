"""python_stdlib.zip repacked stored: the same members, uncompressed, the same bytes every time."""

from __future__ import annotations

import io
import subprocess
import sys
import zipfile
import zipimport
from pathlib import Path

import brotli
import pytest

from cloche_server.build import Project, find_project_root
from cloche_server.stdlib_repack import RepackError, stored_zip

PROJECT = Project(find_project_root(Path(__file__).parent))
STOCK = PROJECT.pyodide_npm / "python_stdlib.zip"


@pytest.fixture(scope="module")
def stock() -> bytes:
    if not STOCK.is_file():
        pytest.skip(f"{STOCK} is missing: run `npm ci` in web/")
    return STOCK.read_bytes()


@pytest.fixture(scope="module")
def repacked(stock: bytes) -> bytes:
    return stored_zip(stock)


def test_same_members_in_the_same_order_with_the_same_contents(
    stock: bytes, repacked: bytes
) -> None:
    with zipfile.ZipFile(io.BytesIO(stock)) as a, zipfile.ZipFile(io.BytesIO(repacked)) as b:
        before, after = a.infolist(), b.infolist()
        assert [m.filename for m in after] == [m.filename for m in before]
        assert len(after) > 500  # the whole standard library, not a stub
        for old, new in zip(before, after, strict=True):
            assert new.compress_type == zipfile.ZIP_STORED
            assert (new.date_time, new.external_attr, new.CRC) == (
                old.date_time,
                old.external_attr,
                old.CRC,
            )
            assert b.read(new) == a.read(old)
        assert b.testzip() is None
        assert b.comment == a.comment


def test_the_stored_zip_is_what_makes_brotli_worth_it(stock: bytes, repacked: bytes) -> None:
    # Quality 5 keeps this quick; the build's quality 11 does better still (1.61 MB).
    assert len(brotli.compress(repacked, quality=5)) < 0.85 * len(brotli.compress(stock, quality=5))


def test_byte_identical_across_runs(stock: bytes, repacked: bytes) -> None:
    """Another process (another time, another hash seed) writes the very same bytes."""
    code = (
        "import sys; from pathlib import Path; from cloche_server.stdlib_repack import stored_zip; "
        "sys.stdout.buffer.write(stored_zip(Path(sys.argv[1]).read_bytes()))"
    )
    other = subprocess.run(
        [sys.executable, "-c", code, str(STOCK)], capture_output=True, check=True
    ).stdout
    assert other == repacked
    assert stored_zip(stock) == repacked


def _sample_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        folder = zipfile.ZipInfo("pkg/", (2020, 1, 2, 3, 4, 6))
        folder.external_attr = 0o40755 << 16 | 0x10
        z.writestr(folder, b"")
        module = zipfile.ZipInfo("pkg/__init__.py", (2020, 1, 2, 3, 4, 6))
        module.external_attr = 0o100644 << 16
        module.comment = b"a member comment"
        z.writestr(module, "ANSWER = 42\n" * 100, compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("top.py", "from pkg import ANSWER\n", compress_type=zipfile.ZIP_STORED)
        z.comment = b"an archive comment"
    return out.getvalue()


def test_a_small_zip_keeps_folders_comments_and_modes_and_zipimport_reads_it(
    tmp_path: Path,
) -> None:
    source = _sample_zip()
    repacked = stored_zip(source)
    with zipfile.ZipFile(io.BytesIO(repacked)) as z:
        assert z.namelist() == ["pkg/", "pkg/__init__.py", "top.py"]
        assert {m.compress_type for m in z.infolist()} == {zipfile.ZIP_STORED}
        assert z.getinfo("pkg/").is_dir()
        assert z.getinfo("pkg/").external_attr == 0o40755 << 16 | 0x10
        assert z.getinfo("pkg/__init__.py").comment == b"a member comment"
        assert z.comment == b"an archive comment"
    path = tmp_path / "lib.zip"
    path.write_bytes(repacked)
    importer = zipimport.zipimporter(str(path))
    assert importer.get_source("pkg") == "ANSWER = 42\n" * 100
    spec = importer.find_spec("top")
    assert spec is not None and spec.loader is not None


def test_a_damaged_or_encrypted_zip_is_refused() -> None:
    source = bytearray(_sample_zip())
    with pytest.raises(RepackError):
        stored_zip(b"not a zip")
    # Flip a byte of the deflated member: its CRC-32 no longer matches.
    at = source.index(b"pkg/__init__.py") + len("pkg/__init__.py") + 5
    source[at] ^= 0xFF
    with pytest.raises(RepackError):
        stored_zip(bytes(source))
    encrypted = bytearray(_sample_zip())
    encrypted[6] |= 0x1  # the first local header's flags
    central = encrypted.index(b"PK\x01\x02")
    encrypted[central + 8] |= 0x1  # and its central directory entry's
    with pytest.raises(RepackError, match="encrypted"):
        stored_zip(bytes(encrypted))
