"""Cloche backend: build and serve the static app."""
