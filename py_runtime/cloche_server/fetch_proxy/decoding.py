"""Reading an answer's body within a size limit, decoding gzip and deflate as it comes.

httpx would decode too, but all at once per chunk read: a 64 KiB chunk of a compression bomb
becomes tens of megabytes (gzip) or gigabytes (brotli) before any limit can be checked. So the proxy
asks for gzip and deflate only, reads raw bytes and decodes them here, never holding more than the
limit; an answer in another encoding (sent though not asked for) is passed on as it came, with its
Content-Encoding header, for the page to deal with.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

ACCEPT_ENCODING = "gzip, deflate"
DECODED = {"gzip", "x-gzip", "deflate"}
GZIP_OR_ZLIB = zlib.MAX_WBITS | 32  # wbits that detect either header
RAW_DEFLATE = -zlib.MAX_WBITS  # some servers send deflate without its zlib header


class TooLarge(Exception):
    """The body is longer than the limit."""


class CorruptBody(Exception):
    """The body is not valid in its Content-Encoding."""


def decodes(content_encoding: str | None) -> bool:
    """Whether a body with this Content-Encoding is passed on decoded."""
    return (content_encoding or "").strip().lower() in DECODED


async def read_within(
    chunks: AsyncIterator[bytes], content_encoding: str | None, limit: int
) -> bytes:
    """The whole body, decoded if `decodes(content_encoding)`; TooLarge past `limit` bytes (of the
    decoded body, or the raw one if it is passed on as it came)."""
    body = bytearray()
    if not decodes(content_encoding):
        async for chunk in chunks:
            if len(body) + len(chunk) > limit:
                raise TooLarge
            body += chunk
        return bytes(body)
    decoder = zlib.decompressobj(GZIP_OR_ZLIB)
    first = True
    async for chunk in chunks:
        try:
            out = decoder.decompress(chunk, limit - len(body) + 1)
        except zlib.error:
            if not (first and content_encoding and "deflate" in content_encoding.lower()):
                raise CorruptBody from None
            decoder = zlib.decompressobj(RAW_DEFLATE)
            try:
                out = decoder.decompress(chunk, limit - len(body) + 1)
            except zlib.error:
                raise CorruptBody from None
        first = first and not chunk
        # Under max_length, the decoder consumed the whole chunk; at it, the body is too long.
        if len(body) + len(out) > limit:
            raise TooLarge
        body += out
    try:
        body += decoder.flush()
    except zlib.error:
        raise CorruptBody from None
    if len(body) > limit:
        raise TooLarge
    return bytes(body)
