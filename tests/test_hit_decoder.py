"""Decoding clp-s's msgpack hits in place gives exactly the blocks msgpack's decoding gives."""

from __future__ import annotations

import itertools
import subprocess
import uuid
from pathlib import Path

import msgpack
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st

from logpager.search import find_clp_s
from logpager.search.hit_decoder import HitDecoder, rows_as_block


def _reference(stream: bytes) -> pa.Table:
    """The hits as msgpack decodes them, one block."""
    unpacker = msgpack.Unpacker(raw=True, use_list=False)
    unpacker.feed(stream)
    rows = list(unpacker)
    return pa.Table.from_batches([rows_as_block(rows)])


def _decoded(
    stream: bytes, cuts: list[int], min_bytes: int = 0
) -> tuple[pa.Table, HitDecoder, int]:
    """The hits as :class:`HitDecoder` decodes ``stream`` read in pieces cut at ``cuts``."""
    blocks: list[pa.RecordBatch] = []
    decoder = HitDecoder(blocks.append, min_bytes)
    counted = 0
    bounds = [0, *sorted(set(cuts)), len(stream)]
    for start, stop in itertools.pairwise(bounds):
        counted += decoder.feed(stream[start:stop])
    # What feed says it decoded is what it handed on (finish hands on the rest).
    assert counted == sum(block.num_rows for block in blocks)
    left = decoder.finish()
    assert left == 0
    table = pa.Table.from_batches(blocks) if blocks else _reference(stream).slice(0, 0)
    return table, decoder, counted


def _clp_s_output(data_dir: Path, query: str) -> bytes:
    argv = [str(find_clp_s()), "s", str(data_dir / "archives"), " " + query]
    return subprocess.run(
        [*argv, "file", "--path", "/dev/stdout"], check=True, capture_output=True
    ).stdout


@pytest.mark.parametrize("read", [4_096, 65_536, 1_048_576, 777])
def test_real_clp_s_output_is_decoded_in_place_as_msgpack_decodes_it(
    loghub_archives: Path, read: int
) -> None:
    stream = _clp_s_output(loghub_archives, "*")
    reference = _reference(stream)
    assert reference.num_rows > 1_000
    table, decoder, counted = _decoded(stream, list(range(read, len(stream), read)))
    assert table.equals(reference)
    assert counted == reference.num_rows  # none was left for finish
    # Every hit was read in place: the archives' ids are UUIDs and the numbers fit.
    assert decoder.in_place == reference.num_rows


_ID = st.builds(lambda: str(uuid.uuid4()).encode())
_INT = st.one_of(
    st.integers(0, 200),
    st.integers(-40, 0),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([2**7, 2**8, 2**15, 2**16, 2**31, 2**32, 1_700_000_000_000]),
)
_TEXT = st.text(min_size=0, max_size=300).map(lambda t: t.encode() + b"\n")
_HIT = st.tuples(_INT, _TEXT, st.text(max_size=70).map(str.encode), _ID, _INT)


@hyp_settings(max_examples=150, deadline=None)
@given(
    hits=st.lists(_HIT, min_size=1, max_size=40),
    cuts=st.lists(st.integers(0, 20_000), max_size=6),
    odd=st.sampled_from(["", "big", "plain-id", "bin"]),
    min_bytes=st.sampled_from([0, 200, 5_000]),
)
def test_any_hits_and_reads_decode_as_msgpack_decodes_them(
    hits: list[tuple[int, bytes, bytes, bytes, int]], cuts: list[int], odd: str, min_bytes: int
) -> None:
    # As clp-s writes them: strings (msgpack str), the message as bytes when ``odd="bin"``.
    rows = [
        [ts, msg.decode(), path.decode(), aid.decode(), idx] for ts, msg, path, aid, idx in hits
    ]
    if odd == "big":  # a timestamp past 64 signed bits: msgpack's way, which fails as before
        rows[0][0] = 2**64 - 1
    elif odd == "plain-id":  # an archive id that is not a UUID: msgpack's way
        rows[-1][3] = "archive-1"
    elif odd == "bin":  # messages as msgpack binaries read the same
        for row, hit in zip(rows, hits, strict=True):
            row[1] = hit[1]
    stream = b"".join(msgpack.packb(row, use_bin_type=True) for row in rows)
    cuts = [c for c in cuts if c < len(stream)]
    if odd == "big":
        with pytest.raises((OverflowError, ValueError)):
            _reference(stream)
        with pytest.raises((OverflowError, ValueError)):
            _decoded(stream, cuts, min_bytes)
        return
    reference = _reference(stream)
    table, decoder, _ = _decoded(stream, cuts, min_bytes)
    assert table.equals(reference)
    if not odd:
        assert decoder.in_place == len(rows)


def test_blocks_handed_on_do_not_change_when_later_reads_reuse_the_buffers() -> None:
    # The decoder keeps one buffer for the bytes fed, and the reader reuses its own: a block
    # pointing into either would change under its holder with the next read.
    archive = str(uuid.uuid4())
    hits = [
        (1_700_000_000_000 + i, f'{{"n": {i}, "pad": "{"x" * (i % 50)}"}}\n', "", archive, i)
        for i in range(3_000)
    ]
    stream = b"".join(msgpack.packb(hit) for hit in hits)
    seen: list[tuple[pa.RecordBatch, list[dict[str, object]]]] = []
    decoder = HitDecoder(lambda block: seen.append((block, block.to_pylist())))
    read = 4_096
    reused = bytearray(read)
    for start in range(0, len(stream), read):
        piece = stream[start : start + read]
        reused[: len(piece)] = piece
        with memoryview(reused) as view:
            decoder.feed(view[: len(piece)])
    assert decoder.finish() == 0
    assert len(seen) > 10
    assert decoder.in_place == len(hits)
    for block, when_handed_on in seen:
        assert block.to_pylist() == when_handed_on


def test_a_cut_stream_leaves_bytes_over() -> None:
    hit = (1_700_000_000_000, '{"a": 1}\n', "/x", str(uuid.uuid4()), 7)
    stream = msgpack.packb(hit) * 3
    blocks: list[pa.RecordBatch] = []
    decoder = HitDecoder(blocks.append)
    assert decoder.feed(stream[:-5]) == 2
    assert decoder.finish() > 0  # the third hit, cut short
    assert sum(block.num_rows for block in blocks) == 2


def test_output_that_is_not_hits_is_an_error() -> None:
    decoder = HitDecoder(lambda block: None)
    decoder.feed(b"clp-s: something went wrong\n")
    with pytest.raises((ValueError, TypeError)):
        decoder.finish()


def test_a_hit_larger_than_a_read_is_decoded_through_msgpack() -> None:
    archive = str(uuid.uuid4())
    hits = [
        [1_700_000_000_000, '{"a": 1}\n', "/x", archive, 1],
        [1_700_000_000_001, '{"big": "' + "x" * 3_000_000 + '"}\n', "/x", archive, 2],
        [1_700_000_000_002, '{"a": 3}\n', "/x", archive, 3],
    ]
    stream = b"".join(msgpack.packb(hit) for hit in hits)
    table, decoder, _ = _decoded(stream, list(range(65_536, len(stream), 65_536)), 65_536)
    assert table.equals(_reference(stream))
    assert decoder.in_place < len(hits)  # the big one went through msgpack
