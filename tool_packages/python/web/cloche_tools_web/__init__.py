"""web.fetch: a web page as Markdown, plain text or HTML, fetched through the page's host.

The package asks for any http and https origin; the user decides, and the page's host and the
server's fetch proxy check every request (docs/python-tools.md, "Permissions: network and
storage").
"""

from __future__ import annotations

import codecs
import re
from typing import Annotated, Literal, TypedDict

from cloche import Field, ToolError, http, permissions, tool

from ._markdown import parse, title_of, to_markdown, to_text

__all__ = ["fetch"]

PERMISSIONS = permissions(network=["https://*", "http://*"])

ACCEPT = "text/html,application/xhtml+xml,text/plain;q=0.9,application/json;q=0.8,*/*;q=0.5"
HTML_TYPES = ("text/html", "application/xhtml+xml")
TEXT_TYPES = (
    "application/json",
    "application/xml",
    "application/javascript",
    "application/ecmascript",
    "application/x-javascript",
    "application/yaml",
    "application/x-yaml",
    "application/toml",
    "application/x-ndjson",
    "application/sql",
    "application/graphql",
    "image/svg+xml",
)
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.I)
_LOOKS_LIKE_HTML = re.compile(
    r"\s*(<!--.*?-->\s*)*<(!doctype\s+html|html|head|body)\b", re.I | re.S
)


class Page(TypedDict):
    """The fetched page.

    Attributes:
        url: Where the page came from, after redirects.
        status: The HTTP status (2xx).
        contentType: Its media type, e.g. text/html.
        title: The HTML page's title ("" for other types or when it has none).
        content: The page in the format asked for (non-HTML text as it came).
        truncated: True when content was cut at max_chars.
    """

    url: str
    status: int
    contentType: str
    title: str
    content: str
    truncated: bool


@tool(read_only=True, open_world=True, destructive=False)
async def fetch(
    url: str,
    format: Literal["markdown", "text", "html"] = "markdown",
    max_chars: Annotated[int, Field(minimum=100, maximum=100_000)] = 20_000,
) -> Page:
    """Fetch a web page (http or https) and return its content as Markdown, plain text or HTML.

    HTML is converted (headings, links, lists, tables, code; scripts and styles dropped); other
    text (JSON, XML, plain text...) comes as it is; binary content (images, PDF...) is refused.
    The page's user must have allowed this package network access.

    Args:
        url: The address to fetch, e.g. https://example.org/page.
        format: markdown (HTML converted), text (HTML as plain text) or html (the source).
        max_chars: The most characters of content to return; longer content is cut, with a note.
    """
    try:
        response = await http.fetch(url, headers={"Accept": ACCEPT})
    except (ValueError, TypeError) as error:
        raise ToolError(str(error)) from None
    except http.FetchError as error:
        raise ToolError(f"could not fetch {url}: {error}") from None
    if not response.ok:
        reason = f" {response.status_text}" if response.status_text else ""
        raise ToolError(f"{response.url} answered HTTP {response.status}{reason}")
    kind = _kind(response)
    if kind == "binary":
        media = response.media_type or "content of no declared type that is not text"
        raise ToolError(
            f"{response.url} is {media}, which is not text: web.fetch reads HTML and text"
        )
    text = _decode(response, kind == "html")
    title = ""
    if kind == "html":
        root = parse(text)
        title = title_of(root)
        if format == "markdown":
            text = to_markdown(root, response.url)
        elif format == "text":
            text = to_text(root)
    content, truncated = _truncate(text, max_chars)
    return {
        "url": response.url,
        "status": response.status,
        "contentType": response.media_type or ("text/html" if kind == "html" else "text/plain"),
        "title": title,
        "content": content,
        "truncated": truncated,
    }


def _kind(response: http.Response) -> Literal["html", "text", "binary"]:
    media = response.media_type
    if media in HTML_TYPES:
        return "html"
    if media.startswith("text/") or media in TEXT_TYPES or media.endswith(("+json", "+xml")):
        return "text"
    if media:
        return "binary"
    head = response.body[:2048]
    if b"\0" in head:
        return "binary"
    return "html" if _LOOKS_LIKE_HTML.match(head.decode("latin-1")) else "text"


def _decode(response: http.Response, html: bool) -> str:
    """The body as text: the Content-Type's charset, else a BOM, else (HTML) a <meta> charset,
    else UTF-8; what does not decode becomes U+FFFD."""
    encoding = response.charset
    if encoding is None and response.body.startswith(codecs.BOM_UTF8):
        encoding = "utf-8-sig"
    if encoding is None and html:
        match = _META_CHARSET.search(response.body[:4096])
        if match:
            try:
                encoding = codecs.lookup(match.group(1).decode("ascii")).name
            except LookupError:
                encoding = None
    return response.text(encoding or "utf-8")


def _truncate(text: str, max_chars: int) -> tuple[str, bool]:
    if len(text) <= max_chars:
        return text, False
    note = (
        f"\n\n[… truncated: these are the first {max_chars:,} of {len(text):,} characters; "
        "ask again with a larger max_chars for more]"
    )
    return text[:max_chars] + note, True
