"""Which dist `cloche serve` uses when none is named."""

from __future__ import annotations

from pathlib import Path

import pytest

from cloche_server import build, dist_location
from cloche_server.dist_location import DistNotFound, default_dist


def _checkout(root: Path, *, built: bool) -> Path:
    (root / "web").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    if built:
        (root / "dist").mkdir()
        (root / "dist" / "index.html").write_text("")
    return root


def _packaged(monkeypatch: pytest.MonkeyPatch, folder: Path | None) -> None:
    monkeypatch.setattr(dist_location, "packaged_dist", lambda: folder)


def _only(monkeypatch: pytest.MonkeyPatch, checkout: Path | None) -> None:
    def find(start: Path | None = None) -> Path:
        if checkout is None:
            raise build.BuildError("no Cloche checkout found")
        return checkout

    monkeypatch.setattr(build, "find_project_root", find)


def test_a_built_checkout_serves_its_own_dist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _only(monkeypatch, _checkout(tmp_path / "repo", built=True))
    _packaged(monkeypatch, tmp_path / "packaged")
    assert default_dist(tmp_path / "repo") == tmp_path / "repo" / "dist"


def test_an_unbuilt_checkout_falls_back_to_the_packaged_dist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _only(monkeypatch, _checkout(tmp_path / "repo", built=False))
    _packaged(monkeypatch, tmp_path / "packaged")
    assert default_dist() == tmp_path / "packaged"


def test_outside_a_checkout_the_packaged_dist_is_served(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _only(monkeypatch, None)
    _packaged(monkeypatch, tmp_path / "packaged")
    assert default_dist() == tmp_path / "packaged"


def test_nothing_to_serve_says_what_to_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    _only(monkeypatch, None)
    _packaged(monkeypatch, None)
    with pytest.raises(DistNotFound, match="pass --dist DIR"):
        default_dist()


def test_an_unbuilt_checkout_without_a_packaged_dist_names_its_dist(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _only(monkeypatch, _checkout(tmp_path / "repo", built=False))
    _packaged(monkeypatch, None)
    assert default_dist() == tmp_path / "repo" / "dist"


def test_a_checkout_has_no_packaged_dist() -> None:
    assert dist_location.packaged_dist() is None


def test_an_installed_wheel_ignores_a_checkout_that_only_holds_its_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _only(monkeypatch, _checkout(tmp_path / "repo", built=True))
    _packaged(monkeypatch, tmp_path / "packaged")
    (tmp_path / "elsewhere").mkdir()
    assert default_dist(tmp_path / "elsewhere") == tmp_path / "packaged"
    assert default_dist(tmp_path / "repo") == tmp_path / "repo" / "dist"
