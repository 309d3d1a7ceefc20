"""A scripted model upstream for the end-to-end tests, on 127.0.0.1: `python fake_model.py PORT`.

It answers the relay as OpenAI (`POST /v1/chat/completions`) and Anthropic (`POST /v1/messages`)
would, streaming, with the turns a test scripts in advance:

- `POST /__script` `{"turns": [turn, ...]}` replaces the script; each chat request takes the next
  turn. A turn is `{"text": "...", "tool_calls": [{"name": ..., "arguments": {...}}],
  "chunkDelayMs": 0, "hold": false}`; with `hold`, the stream sends its first chunk and waits for
  `POST /__release` (at most 30 s).
- In a tool call's arguments, the string `"$ATTACHMENT"` stands for the first attachment id
  (`att-` and 8 hex digits) the request's messages name, as a real model would copy it from the
  page's note about attached files.
- `GET /__requests` lists every chat request body received; `POST /__reset` forgets everything.
- Any other GET is recorded as a hit (`GET /__hits`) and answered with a 1x1 PNG: pages that must
  not reach this origin are checked against that list.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import re
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)
HOLD_LIMIT_S = 30.0


class Script:
    def __init__(self) -> None:
        self.turns: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.hits: list[str] = []
        self.release = asyncio.Event()

    def next_turn(self) -> dict[str, Any]:
        if self.turns:
            return self.turns.pop(0)
        return {"text": "The fake model has no scripted answer for this request."}


script = Script()


def text_chunks(text: str, size: int = 6) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or []


async def pause(turn: dict[str, Any], first: bool) -> None:
    if first and turn.get("hold"):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(script.release.wait(), HOLD_LIMIT_S)
    delay = turn.get("chunkDelayMs", 0) / 1000
    if delay:
        await asyncio.sleep(delay)


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data)}\n\n".encode()


async def openai_stream(turn: dict[str, Any], model: str) -> AsyncIterator[bytes]:
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time())}
    base["model"] = model

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "finish_reason": finish}
        return sse({**base, "choices": [choice]})

    yield chunk({"role": "assistant", "content": ""})
    for index, piece in enumerate(text_chunks(turn.get("text", ""))):
        yield chunk({"content": piece})
        await pause(turn, index == 0)
    calls = turn.get("tool_calls", [])
    for index, call in enumerate(calls):
        arguments = json.dumps(call.get("arguments", {}))
        head = {"index": index, "id": f"call_{index}_{int(time.time() * 1000)}", "type": "function"}
        yield chunk({"tool_calls": [{**head, "function": {"name": call["name"], "arguments": ""}}]})
        # Arguments arrive in pieces, as real models send them.
        for piece in text_chunks(arguments, 7):
            yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
    yield chunk({}, "tool_calls" if calls else "stop")
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    yield sse({**base, "choices": [], "usage": usage})
    yield b"data: [DONE]\n\n"


async def anthropic_stream(turn: dict[str, Any], model: str) -> AsyncIterator[bytes]:
    message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model}
    message |= {
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 10, "output_tokens": 0},
    }
    yield sse({"type": "message_start", "message": message}, "message_start")
    block = 0
    text = turn.get("text", "")
    if text:
        start = {
            "type": "content_block_start",
            "index": block,
            "content_block": {"type": "text", "text": ""},
        }
        yield sse(start, "content_block_start")
        for index, piece in enumerate(text_chunks(text)):
            delta = {"type": "content_block_delta", "index": block}
            yield sse(
                delta | {"delta": {"type": "text_delta", "text": piece}}, "content_block_delta"
            )
            await pause(turn, index == 0)
        yield sse({"type": "content_block_stop", "index": block}, "content_block_stop")
        block += 1
    calls = turn.get("tool_calls", [])
    for call in calls:
        use = {
            "type": "tool_use",
            "id": f"toolu_{block}_{int(time.time() * 1000)}",
            "name": call["name"],
        }
        start = {
            "type": "content_block_start",
            "index": block,
            "content_block": use | {"input": {}},
        }
        yield sse(start, "content_block_start")
        for piece in text_chunks(json.dumps(call.get("arguments", {})), 7):
            delta = {"type": "input_json_delta", "partial_json": piece}
            yield sse(
                {"type": "content_block_delta", "index": block, "delta": delta},
                "content_block_delta",
            )
        yield sse({"type": "content_block_stop", "index": block}, "content_block_stop")
        block += 1
    stop = {"stop_reason": "tool_use" if calls else "end_turn", "stop_sequence": None}
    done = {"type": "message_delta", "delta": stop, "usage": {"output_tokens": 5}}
    yield sse(done, "message_delta")
    yield sse({"type": "message_stop"}, "message_stop")


def with_attachment_ids(turn: dict[str, Any], messages: str) -> dict[str, Any]:
    found = re.search(r"att-[0-9a-f]{8}", messages)
    if not found or "tool_calls" not in turn:
        return turn
    text = json.dumps(turn["tool_calls"]).replace('"$ATTACHMENT"', json.dumps(found.group(0)))
    return {**turn, "tool_calls": json.loads(text)}


async def chat(request: Request) -> Response:
    body = await request.json()
    script.requests.append({"path": request.url.path, "body": body})
    turn = with_attachment_ids(script.next_turn(), json.dumps(body.get("messages", [])))
    if turn.get("hold"):
        # Cleared before the first chunk leaves, so a release sent once it arrived is never lost.
        script.release.clear()
    anthropic = request.url.path.endswith("/messages")
    if not body.get("stream"):
        return JSONResponse({"error": {"message": "the fake model only streams"}}, status_code=400)
    stream = anthropic_stream if anthropic else openai_stream
    return StreamingResponse(stream(turn, body.get("model", "")), media_type="text/event-stream")


async def set_script(request: Request) -> Response:
    script.turns = list((await request.json())["turns"])
    return JSONResponse({"turns": len(script.turns)})


async def reset(request: Request) -> Response:
    script.turns.clear()
    script.requests.clear()
    script.hits.clear()
    script.release.set()
    return JSONResponse({})


async def release(request: Request) -> Response:
    script.release.set()
    return JSONResponse({})


async def requests(request: Request) -> Response:
    return JSONResponse(script.requests)


async def hits(request: Request) -> Response:
    return JSONResponse(script.hits)


async def anything(request: Request) -> Response:
    script.hits.append(
        str(request.url.path) + ("?" + request.url.query if request.url.query else "")
    )
    return Response(PNG, media_type="image/png", headers={"access-control-allow-origin": "*"})


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/v1/chat/completions", chat, methods=["POST"]),
        Route("/v1/messages", chat, methods=["POST"]),
        Route("/__script", set_script, methods=["POST"]),
        Route("/__reset", reset, methods=["POST"]),
        Route("/__release", release, methods=["POST"]),
        Route("/__requests", requests),
        Route("/__hits", hits),
        Route("/healthz", healthz),
        Route("/{path:path}", anything),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
