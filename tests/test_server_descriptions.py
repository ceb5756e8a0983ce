"""What a client reads about the server: its name and version, and examples that work.

Every query between backticks in the instructions and the tools' descriptions is run, by
a real client, on the bundled samples ingested as ``serve --samples`` ingests them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from fastmcp import Client

from logpager import __version__
from logpager.ingest import ingest_samples
from logpager.server import create_server
from logpager.settings import Settings

_BACKTICKED = re.compile(r"`([^`]+)`")
_ISO_EXAMPLE = re.compile(r"e\.g\. (\d{4}-\d\d-\d\dT[\d:.]+Z)")


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("bundled-samples")
    ingest_samples(data)
    return data


async def _read_server(data: Path) -> tuple[Any, str, list[Any]]:
    async with Client(create_server(Settings(data_dir=data)), mode="legacy") as client:
        assert client.initialize_result is not None
        info = client.initialize_result.server_info
        instructions = (await client.call_tool("get_instructions", {})).data
        tools = await client.list_tools()
    return info, str(instructions), tools


def _descriptions(tools: list[Any]) -> dict[str, str]:
    """:return: Every tool's description and its parameters', by ``tool`` or ``tool.param``."""
    found = {}
    for tool in tools:
        found[tool.name] = tool.description or ""
        for name, schema in tool.input_schema.get("properties", {}).items():
            found[f"{tool.name}.{name}"] = schema.get("description", "")
    return found


async def test_server_info_names_logpager_and_its_version(samples: Path) -> None:
    info, _instructions, _tools = await _read_server(samples)
    assert info.name == "logpager"
    assert info.version == __version__


async def test_every_example_query_finds_events_in_the_bundled_samples(samples: Path) -> None:
    _info, instructions, tools = await _read_server(samples)
    texts = [instructions, *_descriptions(tools).values()]
    queries = sorted({q for text in texts for q in _BACKTICKED.findall(text)})
    # The search tool's parameter and the instructions both carry examples.
    assert len(queries) >= 8, queries
    assert any(q in _descriptions(tools)["search_by_kql.kql_query"] for q in queries)
    async with Client(create_server(Settings(data_dir=samples)), mode="legacy") as client:
        await client.call_tool("get_instructions", {})
        for query in queries:
            page = (await client.call_tool("search_by_kql", {"kql_query": query})).data
            assert "Error" not in page, (query, page)
            assert page["num_total_matches"] > 0, query


async def test_the_time_range_examples_find_events_in_the_bundled_samples(
    samples: Path,
) -> None:
    _info, _instructions, tools = await _read_server(samples)
    described = _descriptions(tools)
    tool = "search_by_kql_with_timestamp_range"
    (begin,) = _ISO_EXAMPLE.findall(described[f"{tool}.begin_timestamp"])
    (end,) = _ISO_EXAMPLE.findall(described[f"{tool}.end_timestamp"])
    (query,) = _BACKTICKED.findall(described[f"{tool}.kql_query"])
    async with Client(create_server(Settings(data_dir=samples)), mode="legacy") as client:
        await client.call_tool("get_instructions", {})
        args = {"kql_query": query, "begin_timestamp": begin, "end_timestamp": end}
        page = (await client.call_tool(tool, args)).data
    assert page["num_total_matches"] > 0, (args, page)
