"""
MCP Inspector's CLI mode against ``logpager serve``: a real MCP client that opens a new
connection for every call, as hosted connectors do.

Node 22 and the pinned Inspector come from ``scripts/setup-node.sh`` (into ``.tools/node/``);
the system Node is never used. When the setup fails, every test here fails with its reason:
CI must run these tests, not skip them.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from harness.serve_proc import serve_http
from harness.servers import clean_env, serve_command
from tests.support.node import NODE, NODE_MODULES, setup_node
from tests.support.toolnames import TOOL_NAMES

pytestmark = pytest.mark.slow

INSPECTOR_PACKAGE = NODE_MODULES / "@modelcontextprotocol" / "inspector"

STARTUP_SECONDS = 60  # generous: the suite shares a small machine with other work
CALL_SECONDS = 120  # one Inspector call, a stdio server's start included (~2 s measured)

TOOLS = TOOL_NAMES
QUERY = "message: *error*"


@dataclass(frozen=True)
class Inspector:
    """MCP Inspector's CLI: each call is a new process, with a new connection to the server."""

    command: tuple[str, ...]
    env: dict[str, str] = field(repr=False)

    def run(self, target: Sequence[str], method: str, *options: str) -> dict[str, Any]:
        """
        :param target: The server: Inspector options for it, then its URL or command.
        :param method: The MCP method to call.
        :param options: More Inspector options for the method.
        :return: The ``result`` of the one JSON object the Inspector prints.
        :raise AssertionError: If the Inspector fails or prints something else.
        """
        argv = [*self.command, "--format", "json", "--method", method, *options, *target]
        done = subprocess.run(
            argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=CALL_SECONDS,
            check=False,
        )
        failure = f"{' '.join(argv)}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert done.returncode == 0, failure
        output = json.loads(done.stdout)
        assert "result" in output, failure
        result: dict[str, Any] = output["result"]
        return result

    def call_tool(self, target: Sequence[str], name: str, **arguments: object) -> dict[str, Any]:
        """
        :param target: As for :meth:`run`.
        :param name: The tool.
        :param arguments: Its arguments (sent as JSON, so their types are kept).
        :return: The tool's structured result.
        """
        result = self.run(
            target, "tools/call", "--tool-name", name, "--tool-args-json", json.dumps(arguments)
        )
        assert result.get("isError") is not True, result
        content: dict[str, Any] = result["structuredContent"]
        return content


@dataclass(frozen=True)
class Target:
    """How the Inspector reaches one logpager server."""

    name: str
    args: tuple[str, ...]
    process_per_call: bool
    """Whether each call starts a server process of its own (stdio) or reaches one server."""


@pytest.fixture(scope="session")
def inspector(tmp_path_factory: pytest.TempPathFactory) -> Inspector:
    """The Inspector CLI on Node 22, installed by ``scripts/setup-node.sh`` if need be."""
    # A session fixture's failure is kept by pytest: a failed install is tried once.
    failure = setup_node()
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    package = json.loads((INSPECTOR_PACKAGE / "package.json").read_text())
    # What `npx @modelcontextprotocol/inspector` runs: the bin named after the package.
    entry = INSPECTOR_PACKAGE / package["bin"]["inspector"]
    env = clean_env()
    # Node 22 first on PATH, so that whatever the Inspector starts with `node` gets it too.
    env["PATH"] = f"{NODE.parent}{os.pathsep}{env.get('PATH', '')}"
    # The Inspector keeps a catalog and client settings under HOME; not the user's.
    env["HOME"] = str(tmp_path_factory.mktemp("inspector-home"))
    return Inspector((str(NODE), str(entry), "--cli"), env)


@pytest.fixture(scope="module")
def http_url(loghub_archives: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """:return: The MCP endpoint of a ``logpager serve --transport http`` process."""
    stderr_path = tmp_path_factory.mktemp("http-server") / "stderr.txt"
    with serve_http(loghub_archives, log=stderr_path, timeout=STARTUP_SECONDS) as url:
        yield url


def _stdio_target(data_dir: Path) -> Target:
    # The Inspector hands a stdio server only a few variables of its own (HOME, PATH, ...),
    # so a PYTHONPATH that points at the sources under test is passed on explicitly.
    forward = ("-e", f"PYTHONPATH={os.environ['PYTHONPATH']}") if "PYTHONPATH" in os.environ else ()
    command = serve_command("--data-dir", str(data_dir))
    return Target("stdio", (*forward, "--", *command), process_per_call=True)


@pytest.fixture(params=["stdio", "http-legacy", "http-modern"])
def target(request: pytest.FixtureRequest, loghub_archives: Path) -> Target:
    """
    One way to reach a server: stdio (the Inspector starts the server for each call), or
    HTTP in the handshake era (a fresh ``initialize`` per call; the Inspector's default) or
    the stateless 2026-07-28 era.
    """
    if request.param == "stdio":
        return _stdio_target(loghub_archives)
    url = request.getfixturevalue("http_url")
    era = request.param.removeprefix("http-")
    return Target(request.param, ("--protocol-era", era, url), process_per_call=False)


def _page(inspector: Inspector, target: Target, tool: str, **arguments: object) -> dict[str, Any]:
    page = inspector.call_tool(target.args, tool, **arguments)
    assert "Error" not in page, f"{target.name}: {tool} answered {page['Error']!r}"
    return page


def test_tools_list_shows_every_tool(inspector: Inspector, target: Target) -> None:
    tools = inspector.run(target.args, "tools/list")["tools"]
    assert {tool["name"] for tool in tools} == TOOLS


def test_search_then_page_on_new_connections(inspector: Inspector, target: Target) -> None:
    first = _page(inspector, target, "search_by_kql", kql_query=QUERY)
    assert first["page_index"] == 0
    assert first["items"]
    assert first["num_total_pages"] > 1
    handle = first["result_handle"]
    assert isinstance(handle, str)
    assert handle

    if target.process_per_call:
        # The server that made the result ended with the call, and its results with it: a
        # new server process knows nothing of the handle and says so.
        refused = inspector.call_tool(
            target.args, "get_nth_page", page_index=1, result_handle=handle
        )
        assert "Error" in refused
        assert "items" not in refused
        return

    second = _page(inspector, target, "get_nth_page", page_index=1, result_handle=handle)
    assert second["page_index"] == 1
    assert second["result_handle"] == handle
    assert second["num_total_items"] == first["num_total_items"]
    assert second["items"]
    # Every item names its event (the link), so pages of one result share none.
    assert set(second["items"]).isdisjoint(first["items"])
