"""A cheap MCP client over raw HTTP, for benchmarks where the client must not be the bottleneck.

One handshake-era session (``initialize``, then ``notifications/initialized``) on one kept-alive
``http.client`` connection: a tool call is one POST and one parse of the answer's JSON, with
none of a full client's task groups, streams and models. FastMCP's ``Client`` spends ~1 ms of
CPU a call on those, which on a shared two-core machine is time taken from the server under
test. With ``stateless=True`` it speaks MCP 2026-07-28 instead: no handshake, every call a
self-contained POST (the envelope in ``params._meta`` and the routing headers), which any
worker of ``serve --workers N`` answers.
"""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit

__all__ = ["McpHttpClient", "McpHttpError"]

_PROTOCOL = "2025-11-25"
_STATELESS_PROTOCOL = "2026-07-28"
_STATELESS_META = {
    "io.modelcontextprotocol/protocolVersion": _STATELESS_PROTOCOL,
    "io.modelcontextprotocol/clientCapabilities": {},
}


class McpHttpError(RuntimeError):
    """An answer that is not a tool's result: an HTTP error status or a JSON-RPC error."""


class McpHttpClient:
    """
    One MCP session over one kept-alive HTTP connection (not thread-safe: one per thread).

    :param url: The MCP endpoint (``http://HOST:PORT/mcp``).
    :param timeout: Seconds to wait for an answer.
    :param stateless: Speak MCP 2026-07-28 (no session) rather than open a handshake-era one.
    """

    def __init__(self, url: str, timeout: float = 120, *, stateless: bool = False) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            msg = f"an http:// MCP endpoint is needed, not {url!r}"
            raise ValueError(msg)
        self.url = url
        self._host = parts.hostname
        self._port = parts.port or 80
        self._path = parts.path or "/"
        self._timeout = timeout
        self._conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
        self._headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
        }
        self._next_id = 0
        self.stateless = stateless
        if stateless:
            self._headers["mcp-protocol-version"] = _STATELESS_PROTOCOL
            self._headers["mcp-method"] = "tools/call"
        self.reconnects = 0
        """Kept-alive connections the server closed between calls (each retried once)."""

    def open(self) -> McpHttpClient:
        """
        Opens the session and calls ``get_instructions`` (the server's rule before paging).

        :return: This client.
        :raise McpHttpError: If the server refuses the handshake.
        """
        if self.stateless:
            # No handshake to make; the instructions-first rule does not apply (the server
            # hands a stateless client its instructions with server/discover).
            return self
        hello = {
            "protocolVersion": _PROTOCOL,
            "capabilities": {},
            "clientInfo": {"name": "logpager-bench", "version": "0"},
        }
        status, headers, _ = self._post(self._request("initialize", hello))
        session = headers.get("mcp-session-id")
        if status != 200 or session is None:
            msg = f"initialize answered HTTP {status} without a session id"
            raise McpHttpError(msg)
        self._headers["mcp-session-id"] = session
        self._headers["mcp-protocol-version"] = _PROTOCOL
        self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.call("get_instructions")
        return self

    def call(self, tool: str, **arguments: Any) -> dict[str, Any]:
        """
        :param tool: A tool's name.
        :param arguments: Its arguments.
        :return: The tool's structured result (a logpager ``{"Error": ...}`` included).
        :raise McpHttpError: If the answer is an HTTP error or a JSON-RPC error.
        """
        params: dict[str, Any] = {"name": tool, "arguments": arguments}
        if self.stateless:
            params["_meta"] = _STATELESS_META
            self._headers["mcp-name"] = tool
        status, _, body = self._post(self._request("tools/call", params))
        if status != 200:
            msg = f"{tool} answered HTTP {status}: {body[:200]!r}"
            raise McpHttpError(msg)
        message = _message(body)
        if "result" not in message:
            msg = f"{tool} answered {message.get('error')!r}"
            raise McpHttpError(msg)
        content: dict[str, Any] = message["result"]["structuredContent"]
        return content

    def close(self) -> None:
        """Closes the connection (the server's session ends with its idle TTL)."""
        self._conn.close()

    def _request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        self._next_id += 1
        return {"jsonrpc": "2.0", "id": self._next_id, "method": method, "params": params}

    def _post(self, message: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        body = json.dumps(message).encode()
        try:
            self._conn.request("POST", self._path, body, self._headers)
            response = self._conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            # The server closed a kept-alive connection between calls: one retry on a new one.
            self._conn.close()
            self.reconnects += 1
            self._conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._conn.request("POST", self._path, body, self._headers)
            response = self._conn.getresponse()
        data = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return response.status, headers, data


def _message(body: bytes) -> dict[str, Any]:
    """:return: The JSON-RPC message of a plain JSON or an event-stream answer."""
    text = body.decode()
    if not text.lstrip().startswith("{"):
        data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:")]
        if not data:
            msg = f"an answer with no JSON-RPC message: {text[:200]!r}"
            raise McpHttpError(msg)
        text = data[-1]
    message: dict[str, Any] = json.loads(text)
    return message
