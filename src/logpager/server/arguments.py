"""Tool arguments that fail FastMCP's validation, answered in the reference's shape.

FastMCP validates a ``tools/call``'s arguments against the tool function's signature before
the tool runs (``FunctionTool._run_body``) and raises ``fastmcp.exceptions.ValidationError``
wrapping pydantic's; the server then answers an ``isError`` result whose text is pydantic's,
with a link to its docs. :class:`ToolArgumentErrors` is a middleware around every tool call
(the reference's four and the analysis tools alike) that turns that failure into the answer
every other tool failure gets (:mod:`logpager.server.answers`): a structured result
``{"Error": "Invalid <parameter>: ..."}`` (``Missing <parameter>``, ``Unknown argument
<name>``) that names the parameter and what to pass. The rejected alternative, typing every
parameter ``object`` and checking it in each tool as ``page_index`` is, repeats the same
check in eleven tools. Malformed JSON-RPC fails before any tool is called, so it keeps its
protocol error.
"""

from __future__ import annotations

from typing import Any

import mcp.types as mt
from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware import CallNext, Middleware, MiddlewareContext
from fastmcp.tools import Tool, ToolResult
from pydantic import ValidationError as PydanticValidationError
from pydantic_core import ErrorDetails, to_json

from logpager.server.answers import error

__all__ = ["ToolArgumentErrors", "describe_failure"]

_JSON_TYPES = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
    "object": "a JSON object",
    "array": "a JSON array",
}


def _expected(schema: dict[str, Any]) -> str:
    """:return: What a parameter's JSON schema asks for, in words, e.g. "a string or null"."""
    kinds: list[str] = []
    declared = schema.get("type")
    if isinstance(declared, str):
        kinds.append(declared)
    elif isinstance(declared, list):
        kinds.extend(str(kind) for kind in declared)
    for option in schema.get("anyOf", []):
        if isinstance(option, dict) and isinstance(option.get("type"), str):
            kinds.append(option["type"])
    words = [_JSON_TYPES.get(kind, kind) for kind in dict.fromkeys(kinds)]
    if not words:
        return "a JSON value"
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def _parameters(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    properties = schema.get("properties", {})
    return {name: spec for name, spec in properties.items() if isinstance(spec, dict)}


def describe_failure(detail: ErrorDetails, input_schema: dict[str, Any]) -> str:
    """
    Says what is wrong with one argument and what to pass instead.

    :param detail: One of pydantic's errors for the call's arguments.
    :param input_schema: The tool's input schema, as clients see it.
    :return: ``"Missing <p>: ..."``, ``"Unknown argument <name>: ..."`` or
        ``"Invalid <p>: ..."``, without pydantic's docs link or the value received.
    """
    parameters = _parameters(input_schema)
    location = detail["loc"]
    name = str(location[0]) if location else "arguments"
    kind = detail["type"]
    if kind == "unexpected_keyword_argument" or name not in parameters:
        takes = ", ".join(parameters) or "no arguments"
        return f"Unknown argument {name}: the tool takes {takes}."
    wanted = _expected(parameters[name])
    if kind in ("missing_argument", "missing"):
        return f"Missing {name}: it is required; pass {wanted}."
    if kind in ("json_invalid", "json_type"):
        return f"Invalid {name}: the value is not valid JSON; pass {wanted}."
    return f"Invalid {name}: {detail['msg'].rstrip('.')}; pass {wanted}."


class ToolArgumentErrors(Middleware):
    """Answers a tool call whose arguments fail validation with ``{"Error": ...}``."""

    async def on_call_tool(
        self,
        context: MiddlewareContext[mt.CallToolRequestParams],
        call_next: CallNext[mt.CallToolRequestParams, ToolResult],
    ) -> ToolResult:
        """
        :param context: The call.
        :param call_next: The rest of the chain, down to the tool.
        :return: The tool's result, or ``{"Error": ...}`` naming each bad argument.
        :raise ValidationError: Unchanged, if it does not wrap pydantic's (nothing to name).
        """
        try:
            return await call_next(context)
        except ValidationError as exc:
            cause = exc.__cause__
            if not isinstance(cause, PydanticValidationError):
                raise
            tool = await self._tool(context)
            schema = tool.parameters if tool is not None else {}
            details = cause.errors(include_url=False, include_input=False)
            message = " ".join(describe_failure(detail, schema) for detail in details)
            answer = error(message)
            text = to_json(answer).decode()
            output = tool.output_schema if tool is not None else None
            if output is not None and output.get("x-fastmcp-wrap-result"):
                # A tool that returns text (get_instructions) declares {"result": string}:
                # the error is that string, the same JSON text as every other tool's.
                return ToolResult(
                    content=text,
                    structured_content={"result": text},
                    meta={"fastmcp": {"wrap_result": True}},
                )
            return ToolResult(content=text, structured_content=answer)

    @staticmethod
    async def _tool(context: MiddlewareContext[mt.CallToolRequestParams]) -> Tool | None:
        server = context.fastmcp_context.fastmcp if context.fastmcp_context else None
        return await server.get_tool(context.message.name) if server is not None else None
