"""web.fetch: pages through a fake host, as Markdown, text or HTML; the errors a model reads."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from _tool_support import import_tool_package

from cloche import McpServer, Permissions, ToolError, http
from cloche._jsonrpc import RpcError

web = import_tool_package("web")

PAGE = """<!DOCTYPE html>
<html><head><title>  The   Guide </title>
<style>body { color: red }</style><script>document.write("<p>never</p>")</script></head>
<body>
<nav><a href="/">Home</a></nav>
<h1>Getting <em>started</em></h1>
<p>Read <a href="docs/intro?x=1">the intro</a>, then <strong>install</strong> with
   <code>pip install x</code>.
<p>A second paragraph<br>on two lines.
<h2>Steps</h2>
<ol><li>Download<li>Install<ul><li>on Linux<li>on macOS</ul><li>Run</ol>
<pre><code class="language-python">def main():
    print("hi")
</code></pre>
<blockquote>Quoted words.</blockquote>
<table><thead><tr><th>Name</th><th>Size</th></tr></thead>
<tbody><tr><td>a.txt</td><td>1 KB</td></tr><tr><td>b|c</td><td>2 KB</td></tr></tbody></table>
<div hidden>hidden text</div><noscript>enable JS</noscript>
<p><img src="/logo.png" alt="Logo"> &copy; 2026 &amp; more</p>
</body></html>
"""


class FakeHost:
    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []
        self.status = 200
        self.status_text = "OK"
        self.final_url: str | None = None
        self.headers = [["Content-Type", "text/html; charset=utf-8"]]
        self.body = PAGE.encode()
        self.refusal: str | None = None

    async def __call__(self, method: str, params: dict[str, Any]) -> Any:
        assert method == "cloche/fetch"
        self.asked.append(params)
        if self.refusal is not None:
            raise RpcError(-32603, self.refusal)
        return {
            "status": self.status,
            "statusText": self.status_text,
            "url": self.final_url or params["url"],
            "headers": self.headers,
            "body": base64.b64encode(self.body).decode(),
        }


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHost]:
    monkeypatch.setattr(http, "_request", None)
    fake = FakeHost()
    http.connect(fake)
    yield fake


def fetch(url: str = "https://example.org/guide/", **kwargs: Any) -> dict[str, Any]:
    result: dict[str, Any] = asyncio.run(web.fetch(url, **kwargs))
    return result


MARKDOWN = """[Home](https://docs.example.org/)

# Getting *started*

Read [the intro](https://docs.example.org/guide/docs/intro?x=1), then **install** with \
`pip install x`.

A second paragraph
on two lines.

## Steps

1. Download
2. Install
   - on Linux
   - on macOS
3. Run

```python
def main():
    print("hi")
```

> Quoted words.

| Name | Size |
| --- | --- |
| a.txt | 1 KB |
| b\\|c | 2 KB |

![Logo](https://docs.example.org/logo.png) © 2026 & more"""


def test_a_page_becomes_markdown_with_links_resolved_where_redirects_led(host: FakeHost) -> None:
    host.final_url = "https://docs.example.org/guide/"
    page = fetch()
    assert host.asked == [
        {
            "url": "https://example.org/guide/",
            "method": "GET",
            "headers": [["Accept", web.ACCEPT]],
            "body": None,
        }
    ]
    assert page["content"] == MARKDOWN
    assert {k: v for k, v in page.items() if k != "content"} == {
        "url": "https://docs.example.org/guide/",
        "status": 200,
        "contentType": "text/html",
        "title": "The Guide",
        "truncated": False,
    }


def test_text_drops_the_markup_and_html_is_the_source(host: FakeHost) -> None:
    text = fetch(format="text")["content"]
    assert text.startswith(
        "Home\n\nGetting started\n\nRead the intro, then install with pip install"
    )
    assert "1. Download\n2. Install\n   - on Linux" in text
    assert "Name | Size\na.txt | 1 KB\nb|c | 2 KB" in text
    assert "never" not in text and "hidden text" not in text and "enable JS" not in text
    assert "color: red" not in text
    assert fetch(format="html")["content"] == PAGE


@pytest.mark.parametrize(
    ("html", "markdown"),
    [
        ("<p>a <b> b </b>c</p>", "a **b** c"),
        ("<p>x<a href='javascript:alert(1)'>click</a></p>", "xclick"),
        (
            "<p><a href='#top'>top</a> <a href='mailto:a@b.test'>mail</a></p>",
            "top [mail](mailto:a@b.test)",
        ),
        ("<p>use <code>a`b</code></p>", "use ``a`b``"),
        ("<ul><li><p>one</p><p>more</p></li><li>two</li></ul>", "- one\n\n  more\n- two"),
        ("<ol start='7'><li>seven<li>eight</ol>", "7. seven\n8. eight"),
        ("<p>one<p>two<div>three</div>", "one\n\ntwo\n\nthree"),
        ("<table><tr><td>only</td></tr><tr><td>cells</td></tr></table>", "only\n\ncells"),
        ("<h3>  spaced\n title </h3>", "### spaced title"),
        ("<pre>  keep   spaces\n\n\n  here</pre>", "```\n  keep   spaces\n\n\n  here\n```"),
        ("<p>a</p><hr><p>b</p>", "a\n\n---\n\nb"),
        ("<p>caf&eacute; &lt;tag&gt;</p>", "café <tag>"),
        ("<img src='data:image/png;base64,AAAA' alt='inline'>", "inline"),
        (
            "<base href='https://cdn.example.org/'><a href='x'>x</a>",
            "[x](https://cdn.example.org/x)",
        ),
        ("<p>broken <b>bold <i>both</b> after</p>", "broken **bold *both*** after"),
    ],
)
def test_html_to_markdown(host: FakeHost, html: str, markdown: str) -> None:
    host.body = html.encode()
    assert fetch()["content"] == markdown


def test_other_text_comes_as_it_is(host: FakeHost) -> None:
    host.headers = [["content-type", "application/json"]]
    host.body = b'{"a": "<b>not html</b>"}'
    page = fetch(format="markdown")
    assert (page["content"], page["contentType"], page["title"]) == (
        '{"a": "<b>not html</b>"}',
        "application/json",
        "",
    )
    host.headers = [["content-type", "text/plain; charset=latin-1"]]
    host.body = "déjà vu".encode("latin-1")
    assert fetch()["content"] == "déjà vu"


def test_the_charset_comes_from_a_meta_when_the_header_has_none(host: FakeHost) -> None:
    host.headers = [["content-type", "text/html"]]
    host.body = '<meta charset="windows-1252"><p>naïve “quoted”</p>'.encode("cp1252")
    assert fetch()["content"] == "naïve “quoted”"


def test_without_a_content_type_html_and_text_are_told_apart(host: FakeHost) -> None:
    host.headers = []
    host.body = b"  <!-- hi -->\n<!doctype html><title>T</title><p>para"
    page = fetch()
    assert (page["content"], page["title"], page["contentType"]) == ("para", "T", "text/html")
    host.body = b"just *text*"
    assert (fetch()["content"], fetch()["contentType"]) == ("just *text*", "text/plain")


@pytest.mark.parametrize(
    ("headers", "body", "problem"),
    [
        ([["content-type", "image/png"]], b"\x89PNG\r\n", "is image/png, which is not text"),
        ([["content-type", "application/pdf"]], b"%PDF-1.7", "is application/pdf, which is not"),
        ([], b"\x00\x01\x02", "content of no declared type that is not text"),
    ],
)
def test_binary_content_is_refused(
    host: FakeHost, headers: list[list[str]], body: bytes, problem: str
) -> None:
    host.headers, host.body = headers, body
    with pytest.raises(ToolError, match=problem):
        fetch()


def test_long_content_is_cut_at_max_chars_with_a_note(host: FakeHost) -> None:
    host.headers = [["content-type", "text/plain"]]
    host.body = b"x" * 250
    page = fetch(max_chars=100)
    assert page["truncated"] is True
    assert page["content"] == "x" * 100 + (
        "\n\n[… truncated: these are the first 100 of 250 characters; "
        "ask again with a larger max_chars for more]"
    )
    assert fetch(max_chars=250)["truncated"] is False


def test_a_status_that_is_not_2xx_is_an_error_naming_it(host: FakeHost) -> None:
    host.status, host.status_text = 404, "Not Found"
    host.final_url = "https://example.org/missing"
    with pytest.raises(
        ToolError, match=r"^https://example\.org/missing answered HTTP 404 Not Found$"
    ):
        fetch()
    host.status, host.status_text = 503, ""
    with pytest.raises(ToolError, match=r"answered HTTP 503$"):
        fetch()


def test_a_refusal_reads_as_the_host_put_it(host: FakeHost) -> None:
    host.refusal = "cloche-tools-web 0.1.0 has not been granted network access yet"
    with pytest.raises(ToolError) as caught:
        fetch("https://example.org/")
    assert str(caught.value) == (
        "could not fetch https://example.org/: refused: "
        "cloche-tools-web 0.1.0 has not been granted network access yet"
    )


def test_only_http_and_https_urls(host: FakeHost) -> None:
    with pytest.raises(ToolError, match="http:// and https:// URLs only"):
        fetch("file:///etc/passwd")
    assert host.asked == []


def test_the_package_asks_for_any_web_origin_and_says_it_only_reads() -> None:
    assert Permissions(("https://*", "http://*")) == web.PERMISSIONS
    entry = web.fetch.to_mcp()
    assert entry["annotations"] == {
        "title": "Fetch",
        "readOnlyHint": True,
        "destructiveHint": False,
        "openWorldHint": True,
    }
    assert entry["inputSchema"]["properties"]["format"]["enum"] == ["markdown", "text", "html"]
    assert entry["inputSchema"]["properties"]["max_chars"]["maximum"] == 100_000
    assert entry["outputSchema"]["required"] == [
        "url",
        "status",
        "contentType",
        "title",
        "content",
        "truncated",
    ]


def test_a_call_over_mcp_gives_structured_content(host: FakeHost) -> None:
    host.headers = [["content-type", "text/plain"]]
    host.body = b"hello"
    reply = McpServer([web.fetch]).handle(
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "tools/call",
                "params": {"name": "fetch", "arguments": {"url": "https://example.org/"}},
            }
        )
    )
    assert json.loads(reply)["result"]["structuredContent"] == {
        "url": "https://example.org/",
        "status": 200,
        "contentType": "text/plain",
        "title": "",
        "content": "hello",
        "truncated": False,
    }
