"""Every shared loghub sample ingests with every event dated as its source line says.

The dates expected come from :mod:`tests.support.loghub_dates` (a regex and strptime pattern
per sample, independent of the ingest code); the dates found come from a real ``clp-s``
search of the archive the real ingest built.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logpager.ingest import IngestReport, ingest
from logpager.query import QuerySpec
from logpager.search import ClpSBackend
from logpager.settings import Settings
from tests.support.loghub import LOGHUB
from tests.support.loghub_dates import SAMPLE_DATES

# The twelve of the shared set beside the repository; the five of the bundled copy without it.
AVAILABLE = sorted(name for name in SAMPLE_DATES if (LOGHUB / name).is_file())


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, IngestReport, Path]:
    """All the samples in one ingest, copies of the yearless ones modified at the end of
    their true year (so the year inferred from the modification time is that year)."""
    folder = tmp_path_factory.mktemp("loghub-copies")
    copies = []
    for name in AVAILABLE:
        dates = SAMPLE_DATES[name]
        copy = folder / name
        shutil.copyfile(LOGHUB / name, copy)
        if dates.year is not None:
            end = datetime(dates.year, 12, 31, 12, tzinfo=UTC).timestamp()
            os.utime(copy, (end, end))
        copies.append(copy)
    data = tmp_path_factory.mktemp("loghub-dates")
    report = ingest(copies, data_dir=data)
    return data, report, folder


@pytest.fixture(scope="module")
def found(ingested: tuple[Path, IngestReport, Path]) -> Counter[tuple[str, int | None]]:
    data, _report, _folder = ingested
    outcome = ClpSBackend(Settings(data_dir=data)).search(QuerySpec("*", max_results=50_000))
    pairs: Counter[tuple[str, int | None]] = Counter()
    for batch in outcome.batches:
        for ts, message in zip(
            batch.column("timestamp").to_pylist(), batch.column("message").to_pylist(), strict=True
        ):
            pairs[(_source_line(message), ts)] += 1
    return pairs


def _source_line(message: str) -> str:
    # A text event's message is its line, whether stored as it is or wrapped in a JSON object
    # with the timestamp (no loghub line is itself a JSON object).
    try:
        event = json.loads(message)
    except ValueError:
        return message
    return str(event["message"]) if isinstance(event, dict) else message


def test_the_samples_are_there() -> None:
    assert len(AVAILABLE) in (5, 12), AVAILABLE


@pytest.mark.parametrize("name", AVAILABLE)
def test_every_event_is_dated_as_its_line_says(
    name: str, found: Counter[tuple[str, int | None]]
) -> None:
    dates = SAMPLE_DATES[name]
    lines = (LOGHUB / name).read_text(encoding="utf-8").splitlines()
    expected: Counter[tuple[str, int | None]] = Counter((line, dates.date(line)) for line in lines)
    missing = expected - found
    assert not missing, (
        f"{name}: {len(missing)} line(s) dated otherwise, e.g. {next(iter(missing))}"
    )


@pytest.mark.parametrize("name", AVAILABLE)
def test_summary_of_each_sample(name: str, ingested: tuple[Path, IngestReport, Path]) -> None:
    _data, report, folder = ingested
    (summary,) = [s for s in report.summaries if s.path == str(folder / name)]
    dates = SAMPLE_DATES[name]
    stamps = [dates.date(line) for line in (LOGHUB / name).read_text().splitlines()]
    assert (summary.events, summary.undated) == (2000, 0)
    assert (summary.first_ms, summary.last_ms) == (min(stamps), max(stamps))
    assert summary.warning is None
    if dates.year is None:
        assert summary.year is None
    else:
        assert summary.year is not None
        assert summary.year.startswith(f"{dates.year} (from the file's modification time")
