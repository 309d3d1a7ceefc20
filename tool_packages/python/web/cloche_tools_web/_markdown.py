"""HTML as Markdown or plain text, roughly, on the standard library's html.parser.

Headings, paragraphs, links, lists (nested), emphasis, inline code, preformatted blocks, block
quotes and tables become Markdown; scripts, styles, forms' controls and hidden elements are
dropped. The parser builds a small tree first, closing what HTML leaves implied (`<p>`, `<li>`,
`<td>`...), so broken markup still gives readable text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit


def _tags(names: str) -> frozenset[str]:
    return frozenset(names.split())


VOID = _tags("area base br col embed hr img input link meta param source track wbr keygen")
DROPPED = _tags(
    "head script style noscript template svg math canvas iframe object embed select "
    "textarea button input audio video map dialog title"
)
HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
BLOCK = _tags(
    "p div section article main header footer nav aside figure figcaption address details "
    "summary form fieldset legend center body html dl dt dd caption hgroup search"
)
# A start tag of these ends an open <p> (a paragraph holds no blocks).
ENDS_PARAGRAPH = BLOCK | HEADINGS | {"ul", "ol", "pre", "table", "blockquote", "hr", "li"}
CONTAINERS = BLOCK | {"li", "td", "th", "table", "ul", "ol", "blockquote"}
MAX_DEPTH = 100  # deeper markup is flattened into its 100th element (no recursion limit is hit)
# Placeholders, never in the text itself (control characters are removed from it): an
# indentation that tidying keeps, and a preformatted block put back at the end.
INDENT = "\x01"
PRE = "\x02{}\x02"
_PRE_TOKEN = re.compile("\x02(\\d+)\x02")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACE = re.compile(r"\s+")
_AROUND_NEWLINE = re.compile(r"[ \t]*\n[ \t]*")
_SPACES = re.compile(r" {2,}")
_BLANK_LINES = re.compile(r"\n{3,}")
_BEFORE_LIST = re.compile(r"\n\n(?=(?:- |\d+\. ))")


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    def find(self, tag: str) -> Element | None:
        """The first element `tag` below this one (not inside an <svg>)."""
        for child in self.children:
            if isinstance(child, Element) and child.tag != "svg":
                found = child if child.tag == tag else child.find(tag)
                if found is not None:
                    return found
        return None


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._close_implied(tag)
        element = Element(tag, {name: value or "" for name, value in attrs})
        if tag not in VOID and len(self.stack) >= MAX_DEPTH:
            return
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._close_implied(tag)
        self.stack[-1].children.append(Element(tag, {name: value or "" for name, value in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag == tag:
                del self.stack[index:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)

    def _close_implied(self, tag: str) -> None:
        if tag in ENDS_PARAGRAPH:
            self._close({"p"}, CONTAINERS)
        if tag == "li":
            self._close({"li"}, {"ul", "ol"})
        elif tag in ("dt", "dd"):
            self._close({"dt", "dd"}, {"dl"})
        elif tag in ("td", "th"):
            self._close({"td", "th"}, {"tr", "table"})
        elif tag == "tr":
            self._close({"tr"}, {"table", "thead", "tbody", "tfoot"})
        elif tag in ("thead", "tbody", "tfoot"):
            self._close({"thead", "tbody", "tfoot"}, {"table"})

    def _close(self, tags: set[str], boundaries: set[str] | frozenset[str]) -> None:
        """Close the nearest open element of `tags` (and what is open inside it), unless an
        element of `boundaries` comes first."""
        for index in range(len(self.stack) - 1, 0, -1):
            if self.stack[index].tag in tags:
                del self.stack[index:]
                return
            if self.stack[index].tag in boundaries:
                return


def parse(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def title_of(root: Element) -> str:
    title = root.find("title")
    return _SPACE.sub(" ", _raw_text(title)).strip() if title is not None else ""


def to_markdown(root: Element, url: str) -> str:
    """The page as Markdown, links resolved against `url` (or the page's <base href>)."""
    return _Renderer(_base(root, url), markdown=True).render(root)


def to_text(root: Element) -> str:
    """The page as plain text: paragraphs, list items and table rows on lines of their own."""
    return _Renderer("", markdown=False).render(root)


def _base(root: Element, url: str) -> str:
    base = root.find("base")
    return urljoin(url, base.attrs.get("href", "")) if base is not None else url


def _raw_text(element: Element) -> str:
    """The text below `element` as written (spaces and line breaks kept, <br> a line break)."""
    parts: list[str] = []
    for child in element.children:
        if isinstance(child, str):
            parts.append(_CONTROL.sub("", child))
        elif child.tag == "br":
            parts.append("\n")
        elif child.tag not in DROPPED:
            parts.append(_raw_text(child))
    return "".join(parts)


def tidy(text: str) -> str:
    """No spaces around line breaks nor doubled, at most one blank line, none at the ends."""
    text = _SPACES.sub(" ", _AROUND_NEWLINE.sub("\n", text))
    return _BLANK_LINES.sub("\n\n", text).strip(" \n")


def _edges(inner: str, core: str) -> str:
    """`core` with the space that `inner` had at its ends (moved outside any markup)."""
    lead = " " if inner[:1].isspace() else ""
    trail = " " if inner[-1:].isspace() else ""
    return f"{lead}{core}{trail}"


class _Renderer:
    def __init__(self, base: str, *, markdown: bool) -> None:
        self.base = base
        self.markdown = markdown
        self.pres: list[str] = []

    def render(self, root: Element) -> str:
        text = tidy(self.children(root))
        text = _PRE_TOKEN.sub(lambda match: self.pres[int(match.group(1))], text)
        return text.replace(INDENT, " ")

    def children(self, element: Element) -> str:
        return "".join(self.node(child) for child in element.children)

    def inline(self, element: Element) -> str:
        """The content on one line (for link texts, headings, table cells)."""
        return _SPACE.sub(" ", self.children(element)).strip()

    def node(self, node: Element | str) -> str:
        if isinstance(node, str):
            return _SPACE.sub(" ", _CONTROL.sub("", node))
        tag, md = node.tag, self.markdown
        if tag in DROPPED or "hidden" in node.attrs or node.attrs.get("aria-hidden") == "true":
            return ""
        if tag in HEADINGS:
            text = self.inline(node)
            prefix = "#" * int(tag[1]) + " " if md else ""
            return f"\n\n{prefix}{text}\n\n" if text else ""
        if tag in ("ul", "ol"):
            return self.list(node)
        if tag == "pre":
            return self.pre(node)
        if tag == "table":
            return self.table(node)
        if tag == "blockquote":
            return self.quote(node)
        if tag == "br":
            return "\n"
        if tag == "hr":
            return "\n\n---\n\n" if md else "\n\n"
        if tag == "a":
            return self.link(node)
        if tag == "img":
            return self.image(node)
        if tag in ("code", "kbd", "samp", "tt"):
            return self.code(node)
        if tag in ("strong", "b"):
            return self.wrap(node, "**")
        if tag in ("em", "i"):
            return self.wrap(node, "*")
        if tag in ("del", "s", "strike"):
            return self.wrap(node, "~~")
        if tag in BLOCK or tag in ("li", "tr"):
            return f"\n\n{self.children(node)}\n\n"
        if tag in ("td", "th"):
            return f" {self.children(node)} "
        return self.children(node)

    def wrap(self, element: Element, mark: str) -> str:
        inner = self.children(element)
        core = _SPACE.sub(" ", inner).strip()
        if not self.markdown or not core:
            return inner
        return _edges(inner, f"{mark}{core}{mark}")

    def code(self, element: Element) -> str:
        text = _SPACE.sub(" ", _raw_text(element))
        if not self.markdown or not text.strip():
            return text
        longest = max((len(run) for run in re.findall("`+", text)), default=0)
        fence = "`" * (longest + 1)
        pad = " " if text.startswith("`") or text.endswith("`") else ""
        return f"{fence}{pad}{text}{pad}{fence}"

    def url(self, href: str) -> str | None:
        href = href.strip()
        if not href or href.startswith("#"):
            return None
        url = urljoin(self.base, href)
        return url if urlsplit(url).scheme in ("http", "https", "mailto") else None

    def link(self, element: Element) -> str:
        inner = self.children(element)
        text = _SPACE.sub(" ", inner).strip()
        url = self.url(element.attrs.get("href", ""))
        if not self.markdown or not text or url is None:
            return inner
        text = text.replace("[", "\\[").replace("]", "\\]")
        target = f"<{url}>" if any(c in url for c in " ()<>") else url
        return _edges(inner, f"[{text}]({target})")

    def image(self, element: Element) -> str:
        alt = _SPACE.sub(" ", element.attrs.get("alt", "")).strip()
        src = self.url(element.attrs.get("src", ""))
        if not self.markdown or not alt or src is None or src.startswith("mailto:"):
            return alt
        return f"![{alt}]({src})"

    def pre(self, element: Element) -> str:
        text = _raw_text(element).strip("\n")
        if not text.strip():
            return ""
        if self.markdown:
            fence = "`" * max(3, max((len(r) for r in re.findall("`{3,}", text)), default=0) + 1)
            text = f"{fence}{self.language(element)}\n{text}\n{fence}"
        self.pres.append(text)
        return "\n\n" + PRE.format(len(self.pres) - 1) + "\n\n"

    def language(self, element: Element) -> str:
        code = next((c for c in element.children if isinstance(c, Element)), None)
        classes = element.attrs.get("class", "").split()
        if code is not None and code.tag == "code":
            classes += code.attrs.get("class", "").split()
        for name in classes:
            for prefix in ("language-", "lang-"):
                if name.startswith(prefix) and re.fullmatch(r"[\w+#.-]+", name[len(prefix) :]):
                    return name[len(prefix) :]
        return ""

    def list(self, element: Element) -> str:
        ordered = element.tag == "ol"
        start = element.attrs.get("start", "1")
        number = int(start) if start.isdigit() else 1
        items: list[str] = []
        for child in element.children:
            if isinstance(child, str):
                if child.strip():
                    items.append(self.item("- ", child))
                continue
            if child.tag != "li":  # a list inside a list, or stray markup: under the last item
                body = tidy(self.node(child))
                if body and items:
                    items[-1] += "\n" + _indent(body, INDENT * 2)
                elif body:
                    items.append(body)
                continue
            items.append(self.item(f"{number}. " if ordered else "- ", self.children(child)))
            number += 1
        return "\n\n" + "\n".join(item for item in items if item) + "\n\n" if items else ""

    def item(self, marker: str, content: str) -> str:
        # A list inside an item follows its text without a blank line (a tight list).
        body = _BEFORE_LIST.sub("\n", tidy(content))
        return marker + _indent(body, INDENT * len(marker))[len(marker) :] if body else ""

    def quote(self, element: Element) -> str:
        body = tidy(self.children(element))
        if not body:
            return ""
        prefix, empty = ("> ", ">") if self.markdown else (INDENT * 2, "")
        lines = [prefix + line if line else empty for line in body.split("\n")]
        return "\n\n" + "\n".join(lines) + "\n\n"

    def table(self, element: Element) -> str:
        rows = [
            [c for c in row.children if isinstance(c, Element) and c.tag in ("td", "th")]
            for row in _rows(element)
        ]
        rows = [row for row in rows if row]
        width = max((len(row) for row in rows), default=0)
        if width <= 1:  # a table for layout: its cells are blocks
            return "".join(f"\n\n{self.children(cell)}\n\n" for row in rows for cell in row)
        cells = [[self.inline(cell) for cell in row] for row in rows]
        if not self.markdown:
            return "\n\n" + "\n".join(" | ".join(row) for row in cells) + "\n\n"
        cells = [[cell.replace("|", "\\|") for cell in row] for row in cells]
        padded = [row + [""] * (width - len(row)) for row in cells]
        lines = ["| " + " | ".join(row) + " |" for row in padded]
        lines.insert(1, "|" + " --- |" * width)
        return "\n\n" + "\n".join(lines) + "\n\n"


def _rows(table: Element) -> list[Element]:
    rows: list[Element] = []
    for child in table.children:
        if isinstance(child, Element) and child.tag == "tr":
            rows.append(child)
        elif isinstance(child, Element) and child.tag in ("thead", "tbody", "tfoot"):
            rows += [c for c in child.children if isinstance(c, Element) and c.tag == "tr"]
    return rows


def _indent(text: str, indent: str) -> str:
    return "\n".join(indent + line if line else "" for line in text.split("\n"))
