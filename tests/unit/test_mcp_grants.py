"""`cloche mcp --grant`: the hosts a package's Deno process may reach, within what it declares."""

from __future__ import annotations

import pytest

from cloche_server.mcp.catalog import PythonPackage
from cloche_server.mcp.grants import GrantError, resolve_grants


def _package(name: str, namespace: str, *network: str) -> PythonPackage:
    return PythonPackage(name, (namespace,), tuple(network), False, ())


WEB = _package("cloche-tools-web", "web", "https://*", "http://*")
API = _package("weather", "weather", "https://api.example.org", "https://*.tiles.example.org:8443")
PLAIN = _package("cloche-tools-text", "text")


def test_a_package_gets_the_exact_hosts_it_declares() -> None:
    assert resolve_grants([API], ["weather"]) == {"weather": ("api.example.org",)}


def test_named_hosts_must_be_within_the_declared_patterns() -> None:
    assert resolve_grants([WEB, API], ["web=api.example.org,127.0.0.1:8080"]) == {
        "cloche-tools-web": ("api.example.org", "127.0.0.1:8080")
    }
    assert resolve_grants([API], ["weather=a.tiles.example.org:8443"]) == {
        "weather": ("a.tiles.example.org:8443",)
    }
    with pytest.raises(GrantError, match=r"evil\.example is not within what weather declares"):
        resolve_grants([API], ["weather=evil.example"])
    with pytest.raises(GrantError, match="not within"):
        resolve_grants([API], ["weather=a.tiles.example.org:443"])


def test_wildcards_alone_cannot_be_granted_and_the_error_says_what_to_do() -> None:
    with pytest.raises(GrantError, match=r"--grant web=api\.example\.org"):
        resolve_grants([WEB], ["web"])


def test_unknown_packages_and_packages_without_network_are_refused() -> None:
    with pytest.raises(GrantError, match="no Python package named nope"):
        resolve_grants([WEB], ["nope"])
    with pytest.raises(GrantError, match="declares no network"):
        resolve_grants([PLAIN], ["text"])
