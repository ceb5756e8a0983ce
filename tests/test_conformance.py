"""
The official MCP conformance suite (``@modelcontextprotocol/conformance``) against a real
``logpager serve --transport http``, on both wire generations.

Node 22 and the pinned suite come from ``scripts/setup-node.sh`` (into ``.tools/node/``); the
system Node is never used (every published version of the suite imports ``fs.globSync``,
which Node 20 lacks). When the setup fails, every test here fails with its reason: CI must
run these tests, not skip them.

Only the scenarios that fit a product server are run. Every other scenario of the pinned
version was run against logpager once; none failed for a reason of logpager's. They need
the suite's fixture server (its "everything server"), or a feature logpager does not offer:
- ``tools-call-*``: each calls a fixture tool (``test_simple_text``, ``test_image_content``,
  ...). ``tools-call-simple-text`` and ``tools-call-error`` even "pass" here, vacuously:
  the first accepts any text, the second any ``isError`` result, and "Unknown tool" is both;
- ``resources-read-*``, ``resources-templates-read``: read fixture resources (``test://...``);
  ``resources-(un)subscribe``: logpager has no resources to subscribe to;
- ``prompts-get-*``, ``json-schema-2020-12``, ``elicitation-*``, ``server-sse-polling``,
  ``input-required-result-*`` (but ``-unsupported-methods``), ``http-custom-header-server-
  validation``: each calls a fixture prompt or tool by name (``test_simple_prompt``,
  ``json_schema_2020_12_tool``, ``test_reconnection``, a tool with ``x-mcp-header``, ...);
- ``completion-complete``: logpager offers no completions (no prompt or template arguments
  to complete), so ``completion/complete`` is "Method not found", as the spec allows;
- ``tasks-*``, ``sep-2640-*``: extensions logpager does not declare.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.servers import http_server
from tests.support.node import NODE, NODE_MODULES, setup_node

pytestmark = pytest.mark.slow

CONFORMANCE = NODE_MODULES / "@modelcontextprotocol" / "conformance" / "dist" / "index.js"

SCENARIO_SECONDS = 120  # one scenario; the suite's own per-scenario timeout is 30 s

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")

HANDSHAKE = "2025-11-25"
STATELESS = "2026-07-28"
HANDSHAKE_SCENARIOS = (
    "server-initialize",
    "server-session-lifecycle",
    "ping",
    "logging-set-level",
    "tools-list",
    "resources-list",
    "prompts-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
)
STATELESS_SCENARIOS = (
    "server-stateless",
    "tools-list",
    "resources-list",
    "sep-2164-resource-not-found",
    "prompts-list",
    "server-sse-multiple-streams",
    "input-required-result-unsupported-methods",
    "dns-rebinding-protection",
    "caching",
    "http-header-validation",
)
SCENARIOS = [
    *((HANDSHAKE, scenario) for scenario in HANDSHAKE_SCENARIOS),
    *((STATELESS, scenario) for scenario in STATELESS_SCENARIOS),
]

EXPECTED_FAILURES = {
    # Both checks call the fixture tool `test_missing_capability` (one that needs the
    # client's `sampling` capability) and fail on any server without it: logpager answers
    # "Unknown tool" (FastMCP's isError result), which the first check reads as "executed
    # without the capability" and the second as "not testable". The scenario's other 23
    # checks (the per-request _meta, server/discover, version and header errors, 404 for the
    # removed methods, error ids) are held to passing. The suite fails the run if a listed
    # check passes (a stale baseline), so this list cannot hide a change.
    "server-stateless": (
        "sep-2575-server-rejects-undeclared-capability",
        "sep-2575-missing-capability-http-400",
    ),
}
"""Checks, by scenario, that fail on any server without the suite's fixture tools."""


@dataclass(frozen=True)
class Server:
    """The module's one server: its MCP endpoint and the file its stderr goes to."""

    url: str
    log: Path


@pytest.fixture(scope="module")
def conformance() -> list[str]:
    """:return: The command that runs the pinned conformance suite on Node 22."""
    # A module fixture's failure is kept by pytest: a failed install is tried once.
    failure = setup_node()
    if failure is not None:
        pytest.fail(failure, pytrace=False)
    return [str(NODE), str(CONFORMANCE)]


@pytest.fixture(scope="module")
def server(loghub_archives: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """:return: One ``logpager serve --transport http`` on the loghub samples, for the module."""
    log = tmp_path_factory.mktemp("conformance-server") / "stderr.txt"
    # The tests are synchronous (they run the suite as a child process), so the server's
    # async context is driven on a loop of its own, open for the whole module.
    loop = asyncio.new_event_loop()
    running = http_server(loghub_archives, log=log)
    try:
        yield Server(loop.run_until_complete(running.__aenter__()), log)
    finally:
        loop.run_until_complete(running.__aexit__(None, None, None))
        loop.close()


def _expected_failures(scenario: str, directory: Path) -> list[str]:
    """
    :param scenario: The scenario to run.
    :param directory: Where to write the suite's baseline file, if it needs one.
    :return: The suite's options for the scenario's expected failures (none if it has none).
    """
    checks = EXPECTED_FAILURES.get(scenario)
    if not checks:
        return []
    baseline = directory / "expected-failures.yaml"
    baseline.write_text("server:\n" + "".join(f"  - {scenario}:{c}\n" for c in checks))
    return ["--expected-failures", str(baseline)]


@pytest.mark.parametrize(("spec_version", "scenario"), SCENARIOS, ids=str)
def test_scenario_passes(
    conformance: list[str], server: Server, tmp_path: Path, spec_version: str, scenario: str
) -> None:
    argv = [
        *conformance,
        "server",
        "--url",
        server.url,
        "--scenario",
        scenario,
        "--spec-version",
        spec_version,
        "--output-dir",
        str(tmp_path / "results"),
        *_expected_failures(scenario, tmp_path),
    ]
    done = subprocess.run(
        argv,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=SCENARIO_SECONDS,
        check=False,
    )
    # The suite colours its report with fixed escape codes (it ignores NO_COLOR).
    report = ANSI_ESCAPE.sub("", f"{done.stdout}\n{done.stderr}")
    assert done.returncode == 0, f"{' '.join(argv)}\nexit {done.returncode}\n{report}"


def test_server_logged_no_traceback(server: Server) -> None:
    """Runs after the scenarios (pytest keeps a module's order): none left a traceback."""
    log = server.log.read_text(errors="replace")
    assert "Traceback" not in log, log
