"""A server on another origin for the escape cases: `python outside.py PORT`, on 127.0.0.1.

It answers anything a sandboxed tool might try, as helpfully as a real server would (CORS and
CORP open, a JavaScript module for `import()`, an event stream, a WebSocket that accepts), so that
an attempt from a worker without Cloche's lockdown does get through: that is the control. Every
request is recorded by path; the suite asks `GET /__hits` whether a case reached it.
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

hits: list[str] = []
OPEN = {
    "access-control-allow-origin": "*",
    "access-control-allow-headers": "*",
    "cross-origin-resource-policy": "cross-origin",
}


async def anything(request: Request) -> Response:
    path = request.url.path
    hits.append(path)
    if request.method == "OPTIONS":
        return Response(status_code=204, headers=OPEN)
    if path.endswith(".js"):
        module = "export const escaped = true;\n"
        return Response(module, media_type="text/javascript", headers=OPEN)
    if "/eventsource/" in path:
        return Response("data: escaped\n\n", media_type="text/event-stream", headers=OPEN)
    return Response("escaped", media_type="text/plain", headers=OPEN)


async def socket(websocket: WebSocket) -> None:
    hits.append(websocket.url.path)
    await websocket.accept()
    await websocket.close()


async def recorded(request: Request) -> JSONResponse:
    return JSONResponse(hits, headers=OPEN)


async def reset(request: Request) -> JSONResponse:
    hits.clear()
    return JSONResponse({"ok": True}, headers=OPEN)


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(
    routes=[
        Route("/healthz", healthz),
        Route("/__hits", recorded),
        Route("/__reset", reset, methods=["POST"]),
        WebSocketRoute("/{path:path}", socket),
        Route("/{path:path}", anything, methods=["GET", "POST", "OPTIONS", "PUT", "HEAD"]),
    ]
)

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
