"""cloche.http.fetch: requests to the page's host (a fake one here), answers and refusals."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Iterator
from typing import Any

import pytest

from cloche import http
from cloche._jsonrpc import RpcError


class FakeHost:
    """Answers `cloche/fetch` as the page's host would, recording what it was asked."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, dict[str, Any]]] = []
        self.answer: Any = {
            "status": 200,
            "statusText": "OK",
            "url": "https://api.example.org/items/",
            "headers": [["Content-Type", "application/json; charset=utf-8"]],
            "body": base64.b64encode(b'{"items": [1, 2]}').decode(),
        }
        self.refusal: RpcError | BaseException | None = None

    async def __call__(self, method: str, params: dict[str, Any]) -> Any:
        self.asked.append((method, params))
        if self.refusal is not None:
            raise self.refusal
        return self.answer


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHost]:
    monkeypatch.setattr(http, "_request", None)  # undone after the test
    fake = FakeHost()
    http.connect(fake)
    yield fake


def fetch(url: str, **kwargs: Any) -> http.Response:
    return asyncio.run(http.fetch(url, **kwargs))


def test_outside_a_worker_there_is_no_host_and_fetch_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(http, "_request", None)
    assert not http.connected()
    with pytest.raises(http.FetchError, match=r"^no host: .*outside a Cloche worker"):
        fetch("https://example.org/")


def test_a_get_asks_the_host_and_gives_the_response(host: FakeHost) -> None:
    response = fetch("https://api.example.org/items")
    assert host.asked == [
        (
            "cloche/fetch",
            {"url": "https://api.example.org/items", "method": "GET", "headers": [], "body": None},
        )
    ]
    assert (response.status, response.status_text, response.ok) == (200, "OK", True)
    assert response.url == "https://api.example.org/items/"  # where redirects led
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    assert response.media_type == "application/json"
    assert response.body == b'{"items": [1, 2]}'
    assert response.json() == {"items": [1, 2]}


def test_method_headers_and_body_are_sent_as_the_host_expects(host: FakeHost) -> None:
    fetch(
        "https://api.example.org/items",
        method="post",
        headers={"Content-Type": "application/json", "X-Token": "t"},
        body='{"name": "é"}',
    )
    fetch("https://api.example.org/raw", method="PUT", headers=[("a", "1"), ("a", "2")], body=b"\0")
    first, second = (params for _, params in host.asked)
    assert first["method"] == "POST"
    assert first["headers"] == [["Content-Type", "application/json"], ["X-Token", "t"]]
    assert base64.b64decode(first["body"]) == '{"name": "é"}'.encode()
    assert second["headers"] == [["a", "1"], ["a", "2"]]
    assert base64.b64decode(second["body"]) == b"\0"


def test_headers_ignore_case_and_join_repeated_values(host: FakeHost) -> None:
    host.answer["headers"] = [["Set-Cookie", "a=1"], ["X-Thing", "x"], ["set-cookie", "b=2"]]
    headers = fetch("https://api.example.org/").headers
    assert headers["SET-COOKIE"] == "a=1, b=2"
    assert headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert "x-thing" in headers and "X-Thing" in headers and "nope" not in headers
    assert headers.get("missing", "default") == "default"
    assert dict(headers) == {"set-cookie": "a=1, b=2", "x-thing": "x"}


def test_text_decodes_with_the_declared_charset_else_utf8(host: FakeHost) -> None:
    host.answer["headers"] = [["content-type", "text/plain; charset=ISO-8859-1"]]
    host.answer["body"] = base64.b64encode("café".encode("latin-1")).decode()
    response = fetch("https://api.example.org/")
    assert (response.charset, response.text()) == ("iso8859-1", "café")
    host.answer["headers"] = [["content-type", "text/plain; charset=nonsense"]]
    host.answer["body"] = base64.b64encode("café".encode() + b"\xff").decode()
    assert fetch("https://api.example.org/").text() == "café\ufffd"


def test_a_status_that_is_not_2xx_is_a_response_not_an_error(host: FakeHost) -> None:
    host.answer.update(status=404, statusText="Not Found", body="")
    response = fetch("https://api.example.org/gone")
    assert (response.status, response.ok, response.body) == (404, False, b"")


def test_a_refusal_is_a_fetch_error_saying_refused_with_the_hosts_message(host: FakeHost) -> None:
    message = (
        "demo 1.0 asked for https://evil.test/, outside the origins it declared and was granted "
        "(https://api.example.org); nothing was fetched"
    )
    host.refusal = RpcError(-32603, message)
    with pytest.raises(http.FetchError) as caught:
        fetch("https://evil.test/")
    assert str(caught.value) == f"refused: {message}"
    assert isinstance(caught.value, OSError)  # what code written for other HTTP clients catches
    host.refusal = TimeoutError()
    with pytest.raises(http.FetchError, match=r"did not answer in time for https://evil\.test/"):
        fetch("https://evil.test/")


@pytest.mark.parametrize(
    "answer",
    [None, {"statusText": "OK"}, {"status": "200"}, {"status": 200, "body": "***"}, [200]],
)
def test_an_answer_that_is_not_a_response_is_a_fetch_error(host: FakeHost, answer: Any) -> None:
    host.answer = answer
    with pytest.raises(http.FetchError, match="is not a fetch response"):
        fetch("https://api.example.org/")


@pytest.mark.parametrize(
    ("url", "kwargs", "error", "problem"),
    [
        ("ftp://example.org/", {}, ValueError, "http:// and https:// URLs only"),
        ("/relative", {}, ValueError, "http:// and https:// URLs only"),
        ("file:///etc/passwd", {}, ValueError, "http:// and https:// URLs only"),
        ("https://[::1/", {}, ValueError, "not a valid URL"),
        ("https://example.org/" + "a" * 8200, {}, ValueError, "longer than 8192"),
        (b"https://example.org/", {}, TypeError, "URL as a str"),
        ("https://example.org/", {"method": "CONNECT"}, ValueError, "method must be one of"),
        ("https://example.org/", {"headers": {"a": 1}}, ValueError, "headers must be"),
        ("https://example.org/", {"headers": [("a", "b\r\nc: d")]}, ValueError, "line breaks"),
        ("https://example.org/", {"headers": ["ab"]}, ValueError, "headers must be"),
        ("https://example.org/", {"body": "x"}, ValueError, "a GET request has no body"),
        ("https://example.org/", {"method": "POST", "body": 5}, TypeError, "bytes or str"),
        (
            "https://example.org/",
            {"method": "POST", "body": b"x" * (2**20 + 1)},
            ValueError,
            "at most 1048576 bytes",
        ),
    ],
)
def test_invalid_arguments_fail_before_asking_the_host(
    host: FakeHost, url: Any, kwargs: dict[str, Any], error: type[Exception], problem: str
) -> None:
    with pytest.raises(error, match=problem):
        fetch(url, **kwargs)
    assert host.asked == []
