"""OpenAI Chat Completions request -> Anthropic Messages request.

System and developer messages become `system`; assistant `tool_calls` become `tool_use` blocks;
`tool` messages become `tool_result` blocks in a user turn; turns of the same role are merged,
because Anthropic wants user and assistant to alternate.
"""

from __future__ import annotations

import json
import re
from typing import Any

from .errors import RelayError

DATA_URL = re.compile(r"data:(image/[a-z0-9.+-]+);base64,(.*)", re.DOTALL | re.IGNORECASE)


def to_anthropic(body: dict[str, Any], model: str, max_tokens: int) -> dict[str, Any]:
    n = body.get("n", 1)
    if n not in (1, None):
        raise _invalid(
            "This model's provider (Anthropic) returns one choice only: n must be 1.", "n"
        )
    system: list[dict[str, Any]] = []
    turns: list[dict[str, Any]] = []
    for index, message in enumerate(body["messages"]):
        where = f"messages[{index}]"
        role = message.get("role")
        if role in ("system", "developer"):
            system.extend(_text_blocks(message.get("content"), where))
        elif role == "user":
            _append(turns, "user", _user_blocks(message.get("content"), where))
        elif role == "assistant":
            _append(turns, "assistant", _assistant_blocks(message, where))
        elif role == "tool":
            _append(turns, "user", [_tool_result(message, where)])
        else:
            raise _invalid(f"{where}.role {role!r} is not one this relay can translate.", where)
    if not turns:
        raise _invalid("messages must hold at least one user message.", "messages")

    request: dict[str, Any] = {"model": model, "max_tokens": max_tokens, "messages": turns}
    if system:
        request["system"] = system
    for name in ("temperature", "top_p"):
        value = body.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise _invalid(f"{name} must be a number.", name)
            # Clamped to Anthropic's 0..1 before float(): an integer may be too large for one.
            request[name] = float(max(0, min(value, 1)))
    stop = body.get("stop")
    if isinstance(stop, str):
        request["stop_sequences"] = [stop]
    elif isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        request["stop_sequences"] = stop
    elif stop is not None:
        raise _invalid("stop must be a string or a list of strings.", "stop")
    if isinstance(body.get("user"), str):
        request["metadata"] = {"user_id": body["user"]}
    tools = body.get("tools")
    if tools:
        request["tools"] = [_tool(tool, f"tools[{i}]") for i, tool in enumerate(_list(tools))]
    choice = _tool_choice(body.get("tool_choice"), body.get("parallel_tool_calls"))
    if choice and tools:
        request["tool_choice"] = choice
    if body.get("stream") is True:
        request["stream"] = True
    return request


def _append(turns: list[dict[str, Any]], role: str, blocks: list[dict[str, Any]]) -> None:
    if not blocks:
        return
    if turns and turns[-1]["role"] == role:
        turns[-1]["content"].extend(blocks)
    else:
        turns.append({"role": role, "content": blocks})


def _text_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if content is None:
        return []
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    blocks = []
    for i, part in enumerate(_list(content, f"{where}.content")):
        if not isinstance(part, dict) or part.get("type") != "text":
            raise _invalid(f"{where}.content[{i}] must be a text part here.", where)
        if not isinstance(part.get("text"), str):
            raise _invalid(f"{where}.content[{i}].text must be a string.", where)
        if part["text"]:
            blocks.append({"type": "text", "text": part["text"]})
    return blocks


def _user_blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if content is None or isinstance(content, str):
        return _text_blocks(content, where)
    blocks = []
    for i, part in enumerate(_list(content, f"{where}.content")):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "image_url":
            blocks.append(_image(part.get("image_url"), f"{where}.content[{i}]"))
        else:
            blocks.extend(_text_blocks([part], f"{where}.content[{i}]"))
    return blocks


def _image(image: Any, where: str) -> dict[str, Any]:
    url = image.get("url") if isinstance(image, dict) else None
    if not isinstance(url, str):
        raise _invalid(f"{where}.image_url.url must be a string.", where)
    match = DATA_URL.fullmatch(url)
    if match:
        source = {"type": "base64", "media_type": match[1].lower(), "data": match[2]}
    elif url.startswith(("https://", "http://")):
        source = {"type": "url", "url": url}
    else:
        raise _invalid(f"{where}.image_url.url must be an http(s) or base64 data URL.", where)
    return {"type": "image", "source": source}


def _assistant_blocks(message: dict[str, Any], where: str) -> list[dict[str, Any]]:
    blocks = _text_blocks(message.get("content"), where)
    for i, call in enumerate(_list(message.get("tool_calls") or [], f"{where}.tool_calls")):
        here = f"{where}.tool_calls[{i}]"
        function = call.get("function") if isinstance(call, dict) else None
        if not isinstance(function, dict) or not isinstance(call.get("id"), str):
            raise _invalid(f"{here} needs an id and a function.", here)
        name, arguments = function.get("name"), function.get("arguments") or "{}"
        if not isinstance(name, str) or not isinstance(arguments, str):
            raise _invalid(f"{here}.function needs a name and arguments as a JSON string.", here)
        try:
            parsed = json.loads(arguments)
        except ValueError:
            raise _invalid(f"{here}.function.arguments is not valid JSON.", here) from None
        if not isinstance(parsed, dict):
            raise _invalid(f"{here}.function.arguments must be a JSON object.", here)
        blocks.append({"type": "tool_use", "id": call["id"], "name": name, "input": parsed})
    return blocks


def _tool_result(message: dict[str, Any], where: str) -> dict[str, Any]:
    call_id = message.get("tool_call_id")
    if not isinstance(call_id, str):
        raise _invalid(f"{where}.tool_call_id must be a string.", where)
    content = message.get("content")
    result: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id}
    if isinstance(content, str):
        result["content"] = content
    else:
        result["content"] = _text_blocks(content, where)
    return result


def _tool(tool: Any, where: str) -> dict[str, Any]:
    function = tool.get("function") if isinstance(tool, dict) else None
    if not isinstance(tool, dict) or tool.get("type", "function") != "function":
        raise _invalid(f"{where} must be a function tool.", where)
    if not isinstance(function, dict) or not isinstance(function.get("name"), str):
        raise _invalid(f"{where}.function.name must be a string.", where)
    schema = function.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(schema, dict):
        raise _invalid(f"{where}.function.parameters must be a JSON Schema object.", where)
    translated: dict[str, Any] = {"name": function["name"], "input_schema": schema}
    description = function.get("description")
    if isinstance(description, str):
        translated["description"] = description
    return translated


def _tool_choice(choice: Any, parallel: Any) -> dict[str, Any] | None:
    translated: dict[str, Any]
    if choice is None or choice == "auto":
        translated = {"type": "auto"}
    elif choice == "none":
        translated = {"type": "none"}
    elif choice == "required":
        translated = {"type": "any"}
    elif (
        isinstance(choice, dict)
        and isinstance(choice.get("function"), dict)
        and isinstance(choice["function"].get("name"), str)
    ):
        translated = {"type": "tool", "name": choice["function"]["name"]}
    else:
        raise _invalid(
            "tool_choice must be auto, none, required or a named function.", "tool_choice"
        )
    if parallel is False and translated["type"] != "none":
        translated["disable_parallel_tool_use"] = True
    if choice is None and parallel is not False:
        return None
    return translated


def _list(value: Any, where: str = "tools") -> list[Any]:
    if not isinstance(value, list):
        raise _invalid(f"{where} must be a list.", where)
    return value


def _invalid(message: str, param: str) -> RelayError:
    return RelayError(400, message, param=param, code="invalid_value")
