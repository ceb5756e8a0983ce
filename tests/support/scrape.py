"""Plain HTTP GETs against a server's side routes (``/metrics``, ``/health``), and parsing
the Prometheus text they answer."""

from __future__ import annotations

import asyncio
import http.client
from urllib.parse import urlsplit

from prometheus_client.parser import text_string_to_metric_families

__all__ = ["base_url", "get", "samples"]


def base_url(endpoint: str) -> str:
    """:return: ``http://host:port`` of an MCP endpoint URL such as ``http://h:p/mcp``."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc}"


def _get(url: str, headers: dict[str, str]) -> tuple[int, str]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", parts.path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


async def get(url: str, **headers: str) -> tuple[int, str]:
    """
    :param url: What to GET.
    :param headers: Headers to send (``Host`` replaces the URL's).
    :return: The status and the body, read off the event loop.
    """
    return await asyncio.to_thread(_get, url, headers)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """
    :param text: Prometheus text.
    :return: Every sample's value by (sample name, sorted labels).
    """
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
