"""Origin patterns a package declares, how they match URLs, and the union of declarations."""

from typing import Any

import pytest

from cloche.permissions import (
    NONE,
    DeclarationError,
    Permissions,
    allows,
    from_json,
    origin_matches,
    origin_pattern,
    permissions,
    union,
)


@pytest.mark.parametrize(
    ("written", "normalized"),
    [
        ("https://api.example.org", "https://api.example.org"),
        ("HTTPS://API.Example.ORG:443", "https://api.example.org"),
        ("http://example.org:80", "http://example.org"),
        ("http://127.0.0.1:8792", "http://127.0.0.1:8792"),
        ("https://*.example.org", "https://*.example.org"),
        ("https://*", "https://*"),
        ("http://*:8080", "http://*:8080"),
        ("http://[::1]:8080", "http://[::1]:8080"),
        ("https://[2001:DB8::1]", "https://[2001:db8::1]"),
        ("  https://localhost  ", "https://localhost"),
    ],
)
def test_valid_patterns_are_normalized(written: str, normalized: str) -> None:
    assert origin_pattern(written) == normalized


@pytest.mark.parametrize(
    ("written", "problem"),
    [
        ("api.example.org", "no http:// or https:// scheme"),
        ("ftp://example.org", "no http:// or https:// scheme"),
        ("wss://example.org", "no http:// or https:// scheme"),
        ("https://example.org/api", "not an origin"),
        ("https://example.org?q=1", "not an origin"),
        ("https://user@example.org", "not an origin"),
        ("https://", "not an origin"),
        ("https://example.org:0", "no valid port"),
        ("https://example.org:65536", "no valid port"),
        ("https://example.org:", "no valid port"),
        ("https://example.org:http", "no valid port"),
        ("https://*.org", "*. must come before a domain"),
        ("https://*.*.example.org", "*. must come before a domain"),
        ("https://ex*ample.org", "no valid host"),
        ("https://-bad.example.org", "no valid host"),
        ("https://exa mple.org", "no valid host"),
        ("", "is not a string"),
        (42, "is not a string"),
    ],
)
def test_invalid_patterns_say_what_is_wrong_and_how_to_write_one(
    written: Any, problem: str
) -> None:
    with pytest.raises(DeclarationError) as caught:
        origin_pattern(written)
    assert problem in str(caught.value)
    assert "scheme://host[:port]" in str(caught.value)
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("pattern", "url", "expected"),
    [
        ("https://api.example.org", "https://api.example.org/v1/items?q=1", True),
        ("https://api.example.org", "https://API.example.org:443/", True),
        ("https://api.example.org", "http://api.example.org/", False),
        ("https://api.example.org", "https://api.example.org:8443/", False),
        ("https://api.example.org", "https://evil-api.example.org/", False),
        ("https://api.example.org", "https://api.example.org.evil.test/", False),
        ("https://api.example.org", "https://api.example.org@evil.test/", False),
        ("http://127.0.0.1:8792", "http://127.0.0.1:8792/page", True),
        ("http://127.0.0.1:8792", "http://127.0.0.1/page", False),
        ("http://127.0.0.1:8792", "http://127.0.0.1:8793/page", False),
        ("http://example.org", "http://example.org:80/", True),
        ("https://*.example.org", "https://a.example.org/", True),
        ("https://*.example.org", "https://a.b.example.org/", True),
        ("https://*.example.org", "https://example.org/", False),
        ("https://*.example.org", "https://badexample.org/", False),
        ("https://*.example.org", "https://a.example.org:444/", False),
        ("https://*", "https://anything.test/x", True),
        ("https://*", "https://anything.test:8443/x", True),
        ("https://*", "http://anything.test/x", False),
        ("http://*:8080", "http://a.test:8080/", True),
        ("http://*:8080", "http://a.test/", False),
        ("http://[::1]:8080", "http://[::1]:8080/x", True),
        ("http://[::1]:8080", "http://[::2]:8080/x", False),
        ("http://[::1]:8080", "http://127.0.0.1:8080/x", False),
        ("https://*", "ftp://example.org/", False),
        ("https://*", "not a url", False),
        ("https://*", "https://[::1/", False),
    ],
)
def test_matching(pattern: str, url: str, expected: bool) -> None:
    assert origin_matches(origin_pattern(pattern), url) is expected


def test_allows_when_any_pattern_matches() -> None:
    patterns = ["https://a.example.org", "http://127.0.0.1:8792"]
    assert allows(patterns, "http://127.0.0.1:8792/x")
    assert not allows(patterns, "https://b.example.org/")
    assert not allows([], "https://a.example.org/")


def test_a_declaration_is_normalized_and_deduplicated() -> None:
    declared = permissions(
        network=["https://API.example.org:443", "https://api.example.org"], storage=True
    )
    assert declared == Permissions(("https://api.example.org",), True)
    assert permissions() == NONE


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"network": "https://example.org"}, "must be a list of origin patterns"),
        ({"network": ["https://example.org/x"]}, "not an origin"),
        ({"storage": "yes"}, "storage must be True or False"),
        ({"storage": 1}, "storage must be True or False"),
        ({"deadline_ms": 0}, "deadline_ms must be a whole number"),
        ({"deadline_ms": 600_001}, "deadline_ms must be a whole number"),
        ({"deadline_ms": True}, "deadline_ms must be a whole number"),
        ({"deadline_ms": 1.5}, "deadline_ms must be a whole number"),
        ({"memory_bytes": 1024}, "memory_bytes must be a whole number of bytes from"),
        ({"memory_bytes": 5 * 2**30}, "memory_bytes must be a whole number of bytes from"),
    ],
)
def test_invalid_declarations_are_refused(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(DeclarationError, match=problem):
        permissions(**kwargs)


def test_union_adds_origins_in_order_ors_storage_and_keeps_the_larger_limits() -> None:
    a = permissions(network=["https://a.test", "https://b.test"], deadline_ms=1_000)
    b = permissions(network=["https://b.test", "https://c.test"], storage=True, deadline_ms=500)
    c = permissions(memory_bytes=32 * 2**20)
    united = union([a, b, c])
    assert united == Permissions(
        ("https://a.test", "https://b.test", "https://c.test"), True, 1_000, 32 * 2**20
    )
    assert a | b == Permissions(united.network, True, 1_000, None)
    assert union([]) == NONE
    assert NONE | a == a


def test_to_json_keeps_the_limits_only_when_declared_and_reads_back() -> None:
    plain = permissions(network=["https://a.test"])
    assert plain.to_json() == {"network": ["https://a.test"], "storage": False}
    full = permissions(storage=True, deadline_ms=9_000, memory_bytes=64 * 2**20)
    assert full.to_json() == {
        "network": [],
        "storage": True,
        "deadlineMs": 9_000,
        "memoryBytes": 64 * 2**20,
    }
    assert from_json(full.to_json()) == full
    assert from_json(plain.to_json()) == plain
    with pytest.raises(DeclarationError):
        from_json({"network": ["gopher://x.test"]})
