"""Raw HTTP requests to an MCP endpoint, for what a client library would hide (status codes,
challenges, Host and Origin checks)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["RawAnswer", "open_session", "post_body", "post_jsonrpc"]


@dataclass(frozen=True)
class RawAnswer:
    """An HTTP answer: status, headers with lower-case names, body."""

    status: int
    headers: dict[str, str]
    body: bytes


def post_jsonrpc(url: str, headers: dict[str, str], method: str = "ping") -> RawAnswer:
    """
    POSTs one JSON-RPC request, as a streamable-HTTP client would, without any session.

    :param url: The MCP endpoint.
    :param headers: Extra headers (``Host``, ``Origin``, ``Authorization`` ...).
    :param method: The JSON-RPC method.
    :return: The answer, whatever its status.
    """
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if method != "ping":
        body["params"] = {}
    return post_body(url, json.dumps(body).encode(), headers, timeout=10)


def post_body(
    url: str, body: bytes, headers: dict[str, str] | None = None, *, timeout: float = 30
) -> RawAnswer:
    """
    POSTs ``body`` as it is (malformed JSON, a wrong ``jsonrpc`` version ...).

    :param url: The MCP endpoint.
    :param body: The request body.
    :param headers: Extra headers (``Host``, ``Origin``, ``mcp-session-id`` ...).
    :param timeout: Seconds to wait for the answer.
    :return: The answer, whatever its status.
    """
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return RawAnswer(int(response.status), _lower(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return RawAnswer(int(exc.code), _lower(exc.headers), exc.read())


def open_session(url: str) -> dict[str, str]:
    """
    Opens a handshake-era session (``initialize``, then ``notifications/initialized``).

    :param url: The MCP endpoint.
    :return: The headers that carry the session on later requests.
    """
    hello = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "rawhttp", "version": "0"},
        },
    }
    answer = post_body(url, json.dumps(hello).encode())
    headers = {
        "mcp-session-id": answer.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-11-25",
    }
    done = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    post_body(url, json.dumps(done).encode(), headers)
    return headers


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}
