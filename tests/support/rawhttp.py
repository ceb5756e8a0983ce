"""Raw HTTP requests to an MCP endpoint, for what a client library would hide (status codes,
challenges, Host and Origin checks)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

__all__ = ["RawAnswer", "post_jsonrpc"]


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
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return RawAnswer(int(response.status), _lower(response.headers), response.read())
    except urllib.error.HTTPError as exc:
        return RawAnswer(int(exc.code), _lower(exc.headers), exc.read())


def _lower(headers: Any) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in headers.items()}
