"""The ``logpager`` command: ingest, search, serve and demo."""

from __future__ import annotations

from logpager.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
