"""Cloche: the in-sandbox runtime and tool SDK."""

__version__ = "0.1.0"
