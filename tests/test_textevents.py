"""Items of plain-text log events show the line as written; JSON events keep their JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from logpager.cache.codec.textevents import item_message, line_of_epoch_tail
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.search.pipeline import search_and_cache
from logpager.settings import Settings
from tests.support.loghub import LOGHUB, SAMPLES


@pytest.mark.parametrize(
    "line",
    ["plain", "", 'quoted "word" and \\ backslash', "tab\there", "é ü 日本", "two\nlines"],
)
def test_a_wrapped_line_is_shown_as_written(line: str) -> None:
    for ensure_ascii in (True, False):
        body = json.dumps(line, ensure_ascii=ensure_ascii)
        assert item_message(f'{{"timestamp":1607598281000,"message":{body}}}') == line
        assert item_message(f'{{"message":{body}}}') == line  # a line without a timestamp


@pytest.mark.parametrize(
    "message",
    [
        '{"timestamp":1607598281000,"level":"INFO","message":"x"}',  # another key
        '{"timestamp":"2024-05-01T00:00:00Z","message":"x"}',  # an ISO timestamp: JSON log
        '{"message":"x","timestamp":1}',  # another order
        '{"timestamp": 1, "message": "x"}',  # not written by an ingest
        '{"timestamp":01,"message":"x"}',  # not JSON
        '{"timestamp":1,"message":"bad \\x escape"}',
        '{"timestamp":1,"message":"lone \\ud800 surrogate"}',
        '{"timestamp":1,"message":"raw\tcontrol"}',
        "plain text, stored verbatim",
    ],
)
def test_anything_else_is_shown_as_stored(message: str) -> None:
    assert item_message(message) == message


def test_the_epoch_tail_fast_path_agrees_with_the_whole_message() -> None:
    for tail in [',"message":"a b"}', ',"message":"q \\" x"}', ',"level":"I","message":"x"}']:
        fast = line_of_epoch_tail(tail)
        whole = item_message('{"timestamp":5' + tail)
        assert fast is None or fast == whole
    assert line_of_epoch_tail(',"message":"a b"}') == "a b"


@pytest.fixture(scope="module")
def shown(loghub_archives: Path) -> set[str]:
    """What the items of every event of the five samples show as their message."""
    settings = Settings(data_dir=loghub_archives, max_cached_results=100_000, page_size=100)
    result, _outcome = search_and_cache(ClpSBackend(settings), QuerySpec("*"), settings=settings)
    assert result.num_total_matches == result.num_items == 10_000
    return {
        item.split(", message: ", 1)[1].rsplit(", link: ", 1)[0] for item in result.iter_items()
    }


@pytest.mark.parametrize("name", SAMPLES)
def test_the_item_of_a_text_event_is_its_source_line(shown: set[str], name: str) -> None:
    lines = (LOGHUB / name).read_text(encoding="utf-8").splitlines()
    # Every line of the sample is an item's message exactly: no JSON, no second epoch.
    assert [line for line in lines if line not in shown] == []
