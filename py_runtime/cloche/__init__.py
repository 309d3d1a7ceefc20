"""Cloche: the in-sandbox runtime and tool SDK.

Write a tool as a type-hinted function with ``@tool``; serve tools over MCP with ``McpServer``;
find installed tool packages with ``discover``. A package that needs the network or a store
declares it with ``permissions`` and uses ``cloche.http`` and ``cloche.store``.
"""

__version__ = "0.1.0"

from . import http, packages, store
from ._capture import Captured, captured_output
from ._validate import Problem, ValidationError
from .context import Context, LogLevel
from .discovery import Discovery, ToolPackage, discover
from .field import Field
from .permissions import DeclarationError, Permissions, permissions
from .server import LATEST_PROTOCOL_VERSION, PROTOCOL_VERSIONS, McpServer
from .tool import Tool, ToolError, tool

__all__ = [
    "LATEST_PROTOCOL_VERSION",
    "PROTOCOL_VERSIONS",
    "Captured",
    "Context",
    "DeclarationError",
    "Discovery",
    "Field",
    "LogLevel",
    "McpServer",
    "Permissions",
    "Problem",
    "Tool",
    "ToolError",
    "ToolPackage",
    "ValidationError",
    "__version__",
    "captured_output",
    "discover",
    "http",
    "packages",
    "permissions",
    "store",
    "tool",
]
