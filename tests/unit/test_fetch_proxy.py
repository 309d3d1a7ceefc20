"""The fetch proxy, `POST /proxy`, through the real app against real HTTP servers on 127.0.0.1
(fetch_upstream.py): origins A, B and C, each its own server on a free port."""

from __future__ import annotations

import base64
import functools
import json
import logging
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fetch_upstream import WAIT, Upstream
from starlette.testclient import TestClient

from cloche.permissions import origin_pattern
from cloche_server import cli
from cloche_server.app import create_app
from cloche_server.fetch_proxy import FetchConfig, load_fetch_config, route
from cloche_server.fetch_proxy.addresses import is_public
from cloche_server.relay.config import ConfigError, RelayConfig, load_config

SERVER = "http://127.0.0.1:8000"
TOKEN = "proxy-client-token-1234"


def _upstream() -> Iterator[Upstream]:
    upstream = Upstream()
    upstream.start()
    yield upstream
    upstream.stop()


a = pytest.fixture(_upstream, name="a")
b = pytest.fixture(_upstream, name="b")
c = pytest.fixture(_upstream, name="c")


@pytest.fixture
def dist(tmp_path: Path) -> Path:
    (tmp_path / "index.html").write_text("<!doctype html><title>Cloche</title>")
    return tmp_path


def proxy(
    dist: Path, allow: list[str], relay: RelayConfig | None = None, **limits: Any
) -> TestClient:
    """The app with the fetch proxy allowing `allow`; use it in a `with` (its lifespan)."""
    config = FetchConfig(allow=tuple(origin_pattern(p) for p in allow), **limits)
    return TestClient(create_app(dist, relay, fetch_config=config), base_url=SERVER)


def ask(client: TestClient, url: str, allow: list[str], **fields: Any) -> httpx.Response:
    return client.post("/proxy", json={"url": url, "allow": allow, **fields})


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    error = response.json()["error"]
    assert set(error) == {"code", "message"}
    return response.status_code, error["code"], error["message"]


def body_of(answer: httpx.Response) -> bytes:
    return base64.b64decode(answer.json()["body"])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- what gets through


def test_a_get_answers_the_upstreams_status_headers_and_body(dist: Path, a: Upstream) -> None:
    with proxy(dist, [a.url]) as client:
        answer = ask(client, f"{a.url}/echo?q=1", [a.url])
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store"
    document = answer.json()
    assert set(document) == {"status", "statusText", "url", "headers", "body", "redirects"}
    assert (document["status"], document["statusText"]) == (200, "OK")
    assert document["url"] == f"{a.url}/echo?q=1"
    assert document["redirects"] == []
    assert json.loads(body_of(answer))["path"] == "/echo?q=1"
    names = [name for name, _ in document["headers"]]
    assert "server" in names
    assert "set-cookie" not in names
    assert [a.seen[0].method, a.seen[0].path] == ["GET", "/echo?q=1"]


def test_a_post_sends_its_method_body_and_the_packages_headers_but_no_others(
    dist: Path, a: Upstream
) -> None:
    headers = [
        ["X-Api-Key", "package-key"],
        ["Content-Type", "application/json"],
        ["Authorization", "Bearer package-token"],
        ["Accept", "application/json"],
        ["Cookie", "package=cookie"],
        ["Host", "elsewhere.example"],
        ["Proxy-Authorization", "Basic eDp5"],
        ["Connection", "X-Hop"],
        ["X-Hop", "for one hop only"],
        ["Transfer-Encoding", "chunked"],
        ["Accept-Encoding", "br"],
    ]
    with proxy(dist, [a.url]) as client:
        answer = client.post(
            "/proxy",
            json={
                "url": f"{a.url}/echo",
                "method": "post",
                "headers": headers,
                "body": base64.b64encode(b'{"n": 1}').decode(),
                "allow": [a.url],
            },
            # The page's own credentials for this server: never passed on.
            headers={"Cookie": "page=session", "X-Page": "mine"},
        )
    assert answer.status_code == 200
    seen = json.loads(body_of(answer))
    assert seen["method"] == "POST"
    assert seen["body"] == '{"n": 1}'
    sent = dict(seen["headers"])
    assert sent["x-api-key"] == "package-key"
    assert sent["authorization"] == "Bearer package-token"
    assert sent["content-type"] == "application/json"
    assert sent["accept"] == "application/json"
    assert sent["host"] == f"127.0.0.1:{a.port}"
    assert sent["content-length"] == "8"
    assert sent["accept-encoding"] == "gzip, deflate"
    for name in ("cookie", "proxy-authorization", "x-hop", "x-page", "transfer-encoding"):
        assert name not in sent, name
    assert sent["connection"] == "close"


def test_an_upstream_error_status_is_an_answer_not_a_refusal(dist: Path, a: Upstream) -> None:
    with proxy(dist, [a.url]) as client:
        for status, text in ((404, "Not Found"), (500, "Internal Server Error")):
            answer = ask(client, f"{a.url}/status/{status}", [a.url])
            assert answer.status_code == 200
            assert (answer.json()["status"], answer.json()["statusText"]) == (status, text)
            assert body_of(answer) == f"status {status}".encode()


def test_hop_by_hop_and_connection_named_headers_of_an_answer_are_dropped(
    dist: Path, a: Upstream
) -> None:
    with proxy(dist, [a.url]) as client:
        answer = ask(client, f"{a.url}/hop-headers", [a.url])
    names = [name for name, _ in answer.json()["headers"]]
    assert "x-kept" in names
    for name in ("connection", "x-private", "keep-alive", "proxy-authenticate"):
        assert name not in names, name


def test_an_explicit_entry_reaches_a_loopback_name_and_sends_that_name_as_host(
    dist: Path, a: Upstream
) -> None:
    origin = f"http://localhost:{a.port}"
    with proxy(dist, [origin]) as client:
        answer = ask(client, f"{origin}/echo", [origin])
    assert answer.json()["status"] == 200
    assert dict(json.loads(body_of(answer))["headers"])["host"] == f"localhost:{a.port}"


def test_a_head_request_answers_without_a_body(dist: Path, a: Upstream) -> None:
    with proxy(dist, [a.url]) as client:
        answer = ask(client, f"{a.url}/bytes/10", [a.url], method="HEAD")
    assert (answer.json()["status"], body_of(answer)) == (200, b"")
    assert a.seen[0].method == "HEAD"


@pytest.fixture
def localhost_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for the name localhost only (no IP address), and its key."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("making a test certificate needs the openssl command")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-nodes", "-days", "2", "-subj", "/CN=localhost"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-keyout", str(key), "-out", str(cert), "-addext", "subjectAltName=DNS:localhost"),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_is_verified_for_the_name_asked_though_the_connection_goes_to_an_address(
    dist: Path, localhost_certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = localhost_certificate
    serving = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    serving.load_cert_chain(cert, key)
    upstream = Upstream(tls=serving)
    upstream.start()
    # The proxy's client trusts this certificate, and only for what it names.
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(httpx, "AsyncClient", functools.partial(httpx.AsyncClient, verify=trusting))
    by_name, by_address = f"https://localhost:{upstream.port}", upstream.url
    try:
        with proxy(dist, [by_name, by_address]) as client:
            named = ask(client, f"{by_name}/echo", [by_name])
            addressed = ask(client, f"{by_address}/echo", [by_address])
    finally:
        upstream.stop()
    assert named.json()["status"] == 200
    assert dict(json.loads(body_of(named))["headers"])["host"] == f"localhost:{upstream.port}"
    status, code, message = error_of(addressed)
    assert (status, code) == (502, "upstream_unreachable")
    assert "certificate" in message
    assert len(upstream.seen) == 1


# --- the operator's list and the package's grant


def test_the_proxy_is_off_by_default(dist: Path, a: Upstream) -> None:
    with TestClient(create_app(dist), base_url=SERVER) as client:
        answer = ask(client, f"{a.url}/echo", [a.url])
    status, code, message = error_of(answer)
    assert (status, code) == (403, "proxy_off")
    assert "--fetch-allow" in message and "[fetch] allow" in message
    assert a.seen == []


def test_an_origin_off_the_operators_list_is_refused_unasked(
    dist: Path, a: Upstream, b: Upstream
) -> None:
    with proxy(dist, [a.url]) as client:
        answer = ask(client, f"{b.url}/echo", [a.url, b.url])
    status, code, message = error_of(answer)
    assert (status, code) == (403, "origin_not_allowed")
    assert f"{b.url}/echo" in message
    assert f"--fetch-allow {b.url}" in message
    assert b.seen == []


def test_an_origin_outside_the_grant_is_refused_unasked(
    dist: Path, a: Upstream, b: Upstream
) -> None:
    with proxy(dist, [a.url, b.url]) as client:
        answer = ask(client, f"{b.url}/echo", [a.url])
    status, code, message = error_of(answer)
    assert (status, code) == (403, "not_granted")
    assert f"{b.url}/echo" in message
    assert b.seen == []


def test_an_empty_grant_reaches_nothing(dist: Path, a: Upstream) -> None:
    with proxy(dist, ["http://*", a.url]) as client:
        answer = ask(client, f"{a.url}/echo", [])
    assert error_of(answer)[:2] == (403, "not_granted")
    assert a.seen == []


def test_a_redirect_outside_the_grant_is_not_followed(dist: Path, a: Upstream, b: Upstream) -> None:
    with proxy(dist, [a.url, b.url]) as client:
        answer = ask(client, f"{a.url}/redirect/302?to={b.url}/echo", [a.url])
    status, code, message = error_of(answer)
    assert (status, code) == (403, "not_granted")
    assert message == (
        f"The request was redirected to {b.url}/echo, which the package's grant does not "
        "cover; the redirect was not followed."
    )
    assert len(a.seen) == 1
    assert b.seen == []


def test_a_redirect_off_the_operators_list_is_not_followed(
    dist: Path, a: Upstream, b: Upstream
) -> None:
    with proxy(dist, [a.url]) as client:
        answer = ask(client, f"{a.url}/redirect/301?to={b.url}/echo", [a.url, b.url])
    status, code, message = error_of(answer)
    assert (status, code) == (403, "origin_not_allowed")
    assert f"redirected to {b.url}/echo" in message and "not followed" in message
    assert b.seen == []


def test_redirects_are_followed_and_listed_with_the_methods_fetch_uses(
    dist: Path, a: Upstream, b: Upstream
) -> None:
    both = [a.url, b.url]
    payload = base64.b64encode(b"payload").decode()
    typed = [["Content-Type", "text/plain"], ["X-Kept", "1"]]
    with proxy(dist, both) as client:
        moved = ask(
            client,
            f"{a.url}/redirect/302?to={b.url}/echo",
            both,
            method="POST",
            body=payload,
            headers=typed,
        )
        kept = ask(
            client,
            f"{a.url}/redirect/307?to={b.url}/echo",
            both,
            method="POST",
            body=payload,
            headers=typed,
        )
        see_other = ask(client, f"{a.url}/redirect/303?to={b.url}/echo", both, method="PUT")
    assert moved.json()["redirects"] == [f"{b.url}/echo"]
    assert moved.json()["url"] == f"{b.url}/echo"
    after_302 = json.loads(body_of(moved))
    assert (after_302["method"], after_302["body"]) == ("GET", "")
    assert "content-type" not in dict(after_302["headers"])
    assert dict(after_302["headers"])["x-kept"] == "1"
    after_307 = json.loads(body_of(kept))
    assert (after_307["method"], after_307["body"]) == ("POST", "payload")
    assert dict(after_307["headers"])["content-type"] == "text/plain"
    assert json.loads(body_of(see_other))["method"] == "GET"


def test_relative_redirects_resolve_against_the_current_url(dist: Path, a: Upstream) -> None:
    with proxy(dist, [a.url]) as client:
        answer = ask(client, f"{a.url}/chain/3", [a.url])
    document = answer.json()
    assert document["redirects"] == [f"{a.url}/chain/{n}" for n in (2, 1, 0)]
    assert (document["url"], body_of(answer)) == (f"{a.url}/chain/0", b"end of chain")


def test_authorization_goes_no_further_than_its_own_origin(
    dist: Path, a: Upstream, b: Upstream
) -> None:
    both = [a.url, b.url]
    auth = [["Authorization", "Bearer package-token"]]
    with proxy(dist, both) as client:
        ask(client, f"{a.url}/chain/1", both, headers=auth)
        ask(client, f"{a.url}/redirect/302?to={b.url}/echo", both, headers=auth)
    assert [seen.header("authorization") for seen in a.seen] == ["Bearer package-token"] * 3
    assert b.seen[0].header("authorization") is None


def test_five_redirects_are_followed_and_a_sixth_is_refused(dist: Path, a: Upstream) -> None:
    with proxy(dist, [a.url]) as client:
        five = ask(client, f"{a.url}/chain/5", [a.url])
        assert len(five.json()["redirects"]) == 5
        a.seen.clear()
        six = ask(client, f"{a.url}/chain/6", [a.url])
    status, code, message = error_of(six)
    assert (status, code) == (502, "too_many_redirects")
    assert f"{a.url}/chain/0" in message
    assert len(a.seen) == 6


def test_a_redirect_the_proxy_cannot_follow_is_refused_and_one_without_location_answered(
    dist: Path, a: Upstream
) -> None:
    with proxy(dist, [a.url]) as client:
        ftp = ask(client, f"{a.url}/redirect/302?to=ftp://files.example/x", [a.url])
        nowhere = ask(client, f"{a.url}/redirect/302", [a.url])
    status, code, message = error_of(ftp)
    assert (status, code) == (502, "bad_redirect")
    assert "ftp://files.example/x" in message
    assert (nowhere.json()["status"], body_of(nowhere)) == (302, b"moved")


# --- private addresses


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/echo",
        "http://localhost:{port}/echo",
        "http://[::1]:{port}/echo",
        "http://[::ffff:127.0.0.1]:{port}/echo",
        "http://2130706433:{port}/echo",
        "http://0x7f.1:{port}/echo",
        "http://0.0.0.0:{port}/echo",
        "http://10.0.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
    ],
)
def test_a_wildcard_never_reaches_a_private_address(
    dist: Path, a: Upstream, c: Upstream, url: str
) -> None:
    # A is listed exactly; C, the same host on another port, only through the wildcard.
    url = url.format(port=c.port)
    with proxy(dist, [a.url, "http://*"], timeout_seconds=5) as client:
        answer = ask(client, url, ["http://*"])
    status, code, message = error_of(answer)
    assert (status, code) == (403, "private_address")
    assert message.startswith(f"{url} leads to ")
    assert "--fetch-allow" in message and "redirect" not in message
    assert c.seen == []


@pytest.mark.parametrize(
    "to", ["http://127.0.0.1:{port}/echo", "http://169.254.169.254/", "http://[::1]:{port}/"]
)
def test_a_redirect_to_a_private_address_is_not_followed(
    dist: Path, a: Upstream, c: Upstream, to: str
) -> None:
    to = to.format(port=c.port)
    with proxy(dist, [a.url, "http://*"], timeout_seconds=5) as client:
        answer = ask(client, f"{a.url}/redirect/302?to={to}", ["http://*"])
    status, code, message = error_of(answer)
    assert (status, code) == (403, "private_address")
    assert message.startswith(f"The request was redirected to {to}, which leads to ")
    assert "the redirect was not followed" in message
    assert len(a.seen) == 1
    assert c.seen == []


def test_the_connections_peer_is_checked_too(
    dist: Path, c: Upstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the lookup fooled, the answer from a private peer would still not be passed on."""
    monkeypatch.setattr(route, "first_non_public", lambda addresses: None)
    with proxy(dist, ["http://*"]) as client:
        answer = ask(client, f"{c.url}/echo", ["http://*"])
    assert error_of(answer)[:2] == (403, "private_address")


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("2606:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("127.0.0.1", False),
        ("::ffff:127.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("::127.0.0.1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("239.1.1.1", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("::", False),
        ("2001:db8::1", False),
        ("2002:7f00:1::", False),
        ("198.18.0.1", False),
        ("not an address", False),
    ],
)
def test_public_addresses(address: str, public: bool) -> None:
    assert is_public(address) is public


# --- limits and failures


def test_an_answer_over_the_limit_is_refused_decoded_or_not(dist: Path, a: Upstream) -> None:
    with proxy(dist, [a.url], max_response_bytes=1000) as client:
        exact = ask(client, f"{a.url}/bytes/1000", [a.url])
        over = ask(client, f"{a.url}/bytes/1001", [a.url])
        small_gzip = ask(client, f"{a.url}/gzip/1000", [a.url])
        bomb = ask(client, f"{a.url}/gzip/10000000", [a.url])
    assert body_of(exact) == b"x" * 1000
    status, code, message = error_of(over)
    assert (status, code) == (502, "response_too_large")
    assert "1000 bytes" in message and "max_response_bytes" in message
    assert body_of(small_gzip) == b"\0" * 1000
    names = [name for name, _ in small_gzip.json()["headers"]]
    assert "content-encoding" not in names and "content-length" not in names
    assert error_of(bomb)[:2] == (502, "response_too_large")


def test_an_answer_in_an_encoding_not_asked_for_is_passed_on_as_it_came(
    dist: Path, a: Upstream
) -> None:
    with proxy(dist, [a.url]) as client:
        answer = ask(client, f"{a.url}/brotli", [a.url])
    assert body_of(answer) == b"not really brotli"
    assert ["content-encoding", "br"] in answer.json()["headers"]


def test_a_stalled_upstream_times_out(dist: Path, a: Upstream) -> None:
    with proxy(dist, [a.url], timeout_seconds=0.5) as client:
        started = time.monotonic()
        answer = ask(client, f"{a.url}/stall", [a.url])
    status, code, message = error_of(answer)
    assert (status, code) == (504, "upstream_timeout")
    assert f"{a.url}/stall" in message and "0.5 s" in message
    assert time.monotonic() - started < 3


def test_the_time_limit_covers_the_whole_fetch_not_each_read(dist: Path, a: Upstream) -> None:
    # A byte every 0.1 s never lets one read wait a second; the whole fetch still ends at 1 s.
    with proxy(dist, [a.url], timeout_seconds=1) as client:
        started = time.monotonic()
        answer = ask(client, f"{a.url}/trickle", [a.url])
    assert error_of(answer)[:2] == (504, "upstream_timeout")
    assert time.monotonic() - started < 4


def test_an_unreachable_upstream(dist: Path) -> None:
    closed = f"http://127.0.0.1:{_closed_port()}"
    with proxy(dist, [closed, "http://*"], timeout_seconds=10) as client:
        refused = ask(client, f"{closed}/x", [closed])
        unknown = ask(client, "http://nonexistent.invalid/x", ["http://*"])
    status, code, message = error_of(refused)
    assert (status, code) == (502, "upstream_unreachable")
    assert f"{closed}/x" in message and "could not connect" in message
    status, code, message = error_of(unknown)
    assert (status, code) == (502, "upstream_unreachable")
    assert "could not be resolved" in message


def test_too_many_fetches_at_once_are_refused_with_retry(dist: Path, a: Upstream) -> None:
    with proxy(dist, [a.url], max_concurrent=1) as client:
        results: list[httpx.Response] = []
        first = threading.Thread(
            target=lambda: results.append(ask(client, f"{a.url}/stall", [a.url]))
        )
        first.start()
        assert a.arrived.wait(WAIT)
        second = ask(client, f"{a.url}/echo", [a.url])
        a.release.set()
        first.join(WAIT)
    status, code, message = error_of(second)
    assert (status, code) == (503, "busy")
    assert second.headers["retry-after"] == "1" and "retry" in message
    assert results[0].json()["status"] == 200
    assert [seen.path for seen in a.seen] == ["/stall"]


def test_a_request_over_the_size_limit_is_refused(dist: Path, a: Upstream) -> None:
    body = base64.b64encode(b"x" * 1000).decode()
    with proxy(dist, [a.url], max_request_bytes=500) as client:
        answer = ask(client, f"{a.url}/echo", [a.url], method="POST", body=body)
    status, code, message = error_of(answer)
    assert (status, code) == (413, "request_too_large")
    assert "500 bytes" in message
    assert a.seen == []


# --- malformed requests

URL = "http://127.0.0.1:1/x"
GOOD: dict[str, Any] = {"url": URL, "allow": [URL.rsplit("/", 1)[0]]}


@pytest.mark.parametrize(
    ("body", "hint"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        ({"allow": []}, "url is required"),
        ({**GOOD, "url": 5}, "url is required"),
        ({**GOOD, "url": ""}, "url is required"),
        ({**GOOD, "url": "ftp://127.0.0.1/x"}, "only http:// and https://"),
        ({**GOOD, "url": "/relative/path"}, "only http:// and https://"),
        ({**GOOD, "url": "http://user:pw@127.0.0.1:1/x"}, "user name or password"),
        ({**GOOD, "url": "http://a b.example/"}, "not a valid host name"),
        ({**GOOD, "url": "http://127.0.0.1:99999/"}, "port 99999 is not from 1 to 65535"),
        ({**GOOD, "url": "http://[::1/"}, "not a valid URL"),
        ({**GOOD, "extra": 1}, "Unknown field 'extra'"),
        ({**GOOD, "method": "GE T"}, "method must be"),
        ({**GOOD, "method": 5}, "method must be"),
        ({**GOOD, "method": "trace"}, "TRACE cannot be sent"),
        ({**GOOD, "method": "CONNECT"}, "CONNECT cannot be sent"),
        ({**GOOD, "headers": {"a": "b"}}, "headers must be a list"),
        ({**GOOD, "headers": [["a"]]}, "headers[0] must be a [name, value] pair"),
        ({**GOOD, "headers": [["a", 1]]}, "headers[0] must be a [name, value] pair"),
        ({**GOOD, "headers": [["bad name", "v"]]}, "not a valid header name"),
        ({**GOOD, "headers": [["x", "a\r\nInjected: 1"]]}, "one line of Latin-1"),
        ({**GOOD, "headers": [["x", "snowman \u2603"]]}, "one line of Latin-1"),
        ({**GOOD, "method": "POST", "body": "not base64!"}, "not valid base64"),
        ({**GOOD, "method": "POST", "body": 5}, "body must be a base64 string"),
        ({**GOOD, "body": "eA=="}, "A GET request cannot have a body"),
        ({"url": URL}, "allow is required"),
        ({**GOOD, "allow": "http://127.0.0.1:1"}, "allow is required"),
        ({**GOOD, "allow": [5]}, "not an origin pattern"),
        ({**GOOD, "allow": ["http://127.0.0.1:1/path"]}, "not an origin pattern"),
    ],
)
def test_malformed_requests_are_bad_requests(
    dist: Path, body: dict[str, Any] | bytes, hint: str
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    with proxy(dist, ["http://*"]) as client:
        answer = client.post("/proxy", content=content)
    status, code, message = error_of(answer)
    assert (status, code) == (400, "bad_request")
    assert hint in message


def test_other_methods_than_post_are_told_to_post(dist: Path) -> None:
    with proxy(dist, ["https://*"]) as client:
        answer = client.get("/proxy")
    status, code, message = error_of(answer)
    assert (status, code) == (405, "method_not_allowed")
    assert answer.headers["allow"] == "POST" and "JSON body" in message


# --- who may use the proxy


def test_the_relays_bearer_token_is_required_when_it_has_one(dist: Path, a: Upstream) -> None:
    relay = RelayConfig(bearer_tokens=(TOKEN,))
    with proxy(dist, [a.url], relay) as client:
        missing = ask(client, f"{a.url}/echo", [a.url])
        wrong = client.post(
            "/proxy",
            json={"url": f"{a.url}/echo", "allow": [a.url]},
            headers={"Authorization": "Bearer wrong-token"},
        )
        right = client.post(
            "/proxy",
            json={"url": f"{a.url}/echo", "allow": [a.url]},
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
    for refused in (missing, wrong):
        assert error_of(refused)[:2] == (401, "invalid_token")
        assert refused.headers["www-authenticate"] == "Bearer"
    assert right.json()["status"] == 200
    assert "authorization" not in dict(json.loads(body_of(right))["headers"])
    assert len(a.seen) == 1


def test_other_sites_pages_may_not_use_the_proxy(dist: Path, a: Upstream) -> None:
    def from_page(client: TestClient, origin: str) -> httpx.Response:
        return client.post(
            "/proxy", json={"url": f"{a.url}/echo", "allow": [a.url]}, headers={"Origin": origin}
        )

    with proxy(dist, [a.url]) as client:
        foreign = from_page(client, "https://evil.example")
        own = from_page(client, SERVER)
    status, code, message = error_of(foreign)
    assert (status, code) == (403, "foreign_origin")
    assert "https://evil.example" in message
    assert own.json()["status"] == 200
    assert len(a.seen) == 1


# --- the log


def test_each_fetch_logs_one_line_without_urls_headers_or_bodies(
    dist: Path, a: Upstream, b: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="cloche.fetch")
    secret = [["Authorization", "Bearer secret-in-header"]]
    body = base64.b64encode(b"secret-in-body").decode()
    with proxy(dist, [a.url, b.url]) as client:
        ask(client, f"{a.url}/echo?key=secret-in-query", [a.url], headers=secret)
        ask(client, f"{a.url}/echo", [a.url], method="POST", body=body)
        ask(client, f"{a.url}/redirect/302?to={b.url}/echo", [a.url])
    lines = [r.getMessage() for r in caplog.records if r.name == "cloche.fetch"]
    assert len(lines) == 3
    assert lines[0].startswith("fetch addr:testclient method=GET ")
    assert f"origin={a.url} status=200 outcome=completed bytes=" in lines[0]
    assert f"method=POST origin={a.url} status=200 outcome=completed" in lines[1]
    assert f"origin={b.url} status=403 outcome=not_granted bytes=0 redirects=0" in lines[2]
    for line in lines:
        assert "secret" not in line and "/echo" not in line


# --- configuration


def test_the_config_files_fetch_table_and_the_command_line_add_up(tmp_path: Path) -> None:
    config = tmp_path / "serve.toml"
    config.write_text(
        "[fetch]\n"
        'allow = ["https://API.example.org:443", "http://127.0.0.1:8792"]\n'
        "max_response_bytes = 1000\n"
        "timeout_seconds = 2.5\n"
        "max_request_bytes = 100\n"
        "max_concurrent = 3\n"
    )
    loaded = load_fetch_config(config, ["https://*.example.net", "http://127.0.0.1:8792"])
    assert loaded == FetchConfig(
        allow=("https://api.example.org", "http://127.0.0.1:8792", "https://*.example.net"),
        max_request_bytes=100,
        max_response_bytes=1000,
        timeout_seconds=2.5,
        max_concurrent=3,
    )
    assert loaded.explicit == {"https://api.example.org", "http://127.0.0.1:8792"}
    assert load_config(config).source == str(config)  # the relay's reading accepts [fetch]
    assert load_fetch_config(None) == FetchConfig()
    assert not FetchConfig().on


@pytest.mark.parametrize(
    ("toml", "cli", "message"),
    [
        ("[fetch]\nallowed = []\n", [], "unknown setting 'allowed' in [fetch]"),
        ('[fetch]\nallow = "https://*"\n', [], "fetch.allow must be a list"),
        ('[fetch]\nallow = ["https://a.org/path"]\n', [], "fetch.allow: network entry"),
        ("", ["ftp://a.org"], "--fetch-allow: network entry"),
        ("[fetch]\nmax_response_bytes = 0\n", [], "fetch.max_response_bytes must be"),
        ("[fetch]\nmax_concurrent = true\n", [], "fetch.max_concurrent must be"),
        ('[fetch]\ntimeout_seconds = "5"\n', [], "fetch.timeout_seconds must be"),
        ("[fetch]\ntimeout_seconds = 0\n", [], "fetch.timeout_seconds must be"),
        ("fetch = 1\n", [], "[fetch] must be a table"),
    ],
)
def test_config_mistakes_name_the_setting(
    tmp_path: Path, toml: str, cli: list[str], message: str
) -> None:
    config = tmp_path / "serve.toml"
    config.write_text(toml)
    with pytest.raises(ConfigError) as error:
        load_fetch_config(config, cli)
    assert message in str(error.value)


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append(options))
    for name in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_cloche_serve_says_whether_the_proxy_is_on(
    served: list[dict[str, Any]], dist: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["serve", "--dist", str(dist)]) == 0
    assert "Fetch proxy at /proxy: off; to turn it on, start `cloche serve --fetch-allow" in (
        capsys.readouterr().out
    )
    args = ["serve", "--dist", str(dist), "--fetch-allow", "https://*"]
    assert cli.main([*args, "--fetch-allow", "http://127.0.0.1:8792"]) == 0
    out = capsys.readouterr().out
    assert (
        "Fetch proxy at /proxy, for packages granted network: https://*, http://127.0.0.1:8792"
        in (out)
    )
    assert cli.main(["serve", "--dist", str(dist), "--fetch-allow", "https://a.org/x"]) == 1
    assert "--fetch-allow: network entry 'https://a.org/x'" in capsys.readouterr().err
    assert len(served) == 2
