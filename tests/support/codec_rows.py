"""Result rows for the codec's tests: row builders, a row strategy, the reference's items."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
from hypothesis import strategies as st

from logpager.cache.codec.decode import decode_chunk_bytes
from logpager.cache.codec.decoded import DecodedChunk, Link
from logpager.cache.codec.encode import encode_chunks
from logpager.schema import RESULT_SCHEMA
from tests.support.chunk_oracle import chunk_bytes

TEMPLATE = "clp://{archive_id}/{log_event_index}"
START_MS = 1_714_521_600_000  # 2024-05-01T00:00:00Z


def iso(ms: int) -> str:
    """The item timestamp, written independently of the codec (years 1000-9999)."""
    when = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def expected_message(message: str) -> str:
    """
    What an item shows of a message, decided independently of the codec: the line of a
    text-log event (exactly a numeric timestamp, optional, and a string message, written
    compactly, as ingestion writes them), any other message as it is.
    """
    try:
        event = json.loads(message)
    except ValueError:
        return message
    if not isinstance(event, dict) or list(event) not in (["timestamp", "message"], ["message"]):
        return message
    line, stamp = event["message"], event.get("timestamp", 0)
    if not isinstance(line, str) or type(stamp) is not int:
        return message
    compact = [json.dumps(event, separators=(",", ":"), ensure_ascii=a) for a in (False, True)]
    if message not in compact and not _same_but_escaped(message, event):
        return message
    try:
        line.encode()
    except UnicodeEncodeError:
        return message
    return line


def _same_but_escaped(message: str, event: dict[str, Any]) -> bool:
    """Whether ``message`` is ``event`` written compactly, its string escaped any valid way."""
    head = '{"timestamp":' + str(event["timestamp"]) + "," if "timestamp" in event else "{"
    return message.startswith(head + '"message":"') and message.endswith('"}')


def expected_item(row: dict[str, Any]) -> str:
    """The reference's item line for one result row (a text-log event shows its line)."""
    ts, archive, index = row["timestamp"], row["archive_id"], row["log_event_index"]
    when = "N/A" if ts is None else iso(ts)
    link = (
        "N/A"
        if not archive or index is None
        else TEMPLATE.format(archive_id=archive, log_event_index=index)
    )
    return f"timestamp: {when}, message: {expected_message(row['message'])}, link: {link}"


def links_for(names: list[str]) -> list[Link]:
    """The link pieces QueryResult renders once per archive."""
    out: list[Link] = []
    for name in names:
        before, after = TEMPLATE.format(archive_id=name, log_event_index="\x00").split("\x00")
        out.append((before, after) if name else None)
    return out or [None]


def decoded(rows: pa.Table, chunk_rows: int) -> tuple[list[DecodedChunk], list[str]]:
    """Encodes rows, lays each chunk out as bytes and decodes it back."""
    names: list[str] = []
    batches = encode_chunks(rows, chunk_rows, names)
    return [decode_chunk_bytes(chunk_bytes(batch)) for batch in batches], names


def round_trip_items(rows: pa.Table, chunk_rows: int) -> list[str]:
    chunks, names = decoded(rows, chunk_rows)
    links = links_for(names)
    return [item for chunk in chunks for item in chunk.items(0, chunk.num_rows, links)]


def table(rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=RESULT_SCHEMA)


def row(
    ts: int | None, message: str, archive: str = "arch-1", index: int | None = 0
) -> dict[str, Any]:
    return {"timestamp": ts, "message": message, "archive_id": archive, "log_event_index": index}


def wrapped(ts: int, text: str) -> str:
    """How ingestion wraps a plain-text line: the epoch copy first."""
    return f'{{"timestamp":{ts},"message":"{text}"}}'


def json_event(ts: int, text: str) -> str:
    """A JSON log line whose timestamp field comes first, as ISO text."""
    return f'{{"timestamp":"{iso(ts)}","level":"INFO","message":"{text}"}}'


message_text = st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=40) | (
    st.sampled_from(["", "plain", "é", '"quoted"'])
)
timestamps = st.one_of(st.none(), st.integers(946_684_800_000, 4_102_444_800_000))  # 2000 to 2100


@st.composite
def result_rows(draw: st.DrawFn) -> list[dict[str, Any]]:
    n = draw(st.integers(0, 60))
    out = []
    for _ in range(n):
        ts = draw(timestamps)
        text = draw(message_text)
        shape = draw(st.sampled_from(["text", "epoch", "iso", "near"]))
        if shape == "epoch" and ts is not None:
            text = wrapped(ts, text)
        elif shape == "iso" and ts is not None:
            text = json_event(ts, text)
        elif shape == "near" and ts is not None:
            text = wrapped(ts + draw(st.integers(-1, 1)), text)
        out.append(
            row(
                ts,
                text,
                draw(st.sampled_from(["arch-1", "arch-2", ""])),
                draw(st.one_of(st.none(), st.integers(-(2**40), 2**40))),
            )
        )
    return out
