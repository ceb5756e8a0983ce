"""A decoded chunk: its rows as item lines, original messages or an Arrow record batch.

:func:`logpager.cache.codec.decode.decode_chunk_bytes` makes one from a chunk's bytes; a
page of items is then one f-string a row, and analysis reads the rows as Arrow columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from logpager.cache.codec.layout import (
    ELIDED_EPOCH,
    ELIDED_ISO,
    ELIDED_MIXED,
    ELIDED_NONE,
    JSON_TS_KEY,
)
from logpager.cache.codec.textevents import item_message, line_of_epoch_tail
from logpager.schema import RESULT_SCHEMA, VERBATIM_SCHEMA

__all__ = ["STAMP_CHARS", "DecodedChunk", "Link"]

Link = tuple[str, str] | None
"""A link rendered around its event index, ``(before, after)``; None where it is ``N/A``."""

STAMP_CHARS = 24
"""Characters of an item timestamp, ``YYYY-MM-DDTHH:MM:SS.fffZ``."""


@dataclass(slots=True)
class DecodedChunk:
    """
    One chunk ready to format any of its pages cheaply.

    Messages stay in one ``text`` string when the chunk is ASCII (a page slices its rows out
    by ``offsets``), else in ``data`` bytes decoded a row at a time. ``stamps`` is the item
    timestamp of every row (``YYYY-MM-DDTHH:MM:SS.fffZ``) back to back in one string, 24
    characters a row, or a list when some year does not have four digits; rows flagged in
    ``timestamp_nulls`` have none. The other lists are None when the chunk does not need them
    (verbatim items; no nulls; archive code 0 on every row; no timestamp copy dropped).
    """

    text: str | None
    data: bytes | None
    offsets: list[int]
    stamps: str | list[str] | None
    timestamp_nulls: list[bool] | None
    indexes: list[int] | None
    index_nulls: list[bool] | None
    archive_codes: list[int] | None
    elided: list[int] | None
    """Each row's elision kind, when they are not all the same."""
    elided_kind: int
    """The elision kind of every row, when it is the same (else ``ELIDED_MIXED``)."""
    timestamps: list[int] | None
    """Epoch milliseconds, when a row's epoch copy was dropped from its message."""
    epoch_ms: npt.NDArray[np.int64] | None
    """Every row's epoch milliseconds (a row without a timestamp holds the previous row's);
    None for verbatim items."""

    nbytes: int
    """Approximate bytes held: the decoded payload plus CPython's per-object overhead."""

    @property
    def num_rows(self) -> int:
        """:return: Rows in the chunk."""
        return len(self.offsets) - 1

    def stored_messages(self, start: int, stop: int) -> list[str]:
        """
        :param start: First row.
        :param stop: Row after the last.
        :return: Messages of rows ``start:stop`` as stored (the verbatim items, or event
            messages without any dropped timestamp copy; see :meth:`messages`).
        """
        offsets = self.offsets
        if self.text is not None:
            text = self.text
            return [text[offsets[row] : offsets[row + 1]] for row in range(start, stop)]
        data = self.data or b""
        return [data[offsets[row] : offsets[row + 1]].decode() for row in range(start, stop)]

    def stamp(self, row: int) -> str | None:
        """
        :param row: Row in the chunk.
        :return: The row's item timestamp (``YYYY-MM-DDTHH:MM:SS.fffZ``), None if it has none.
        """
        if self.stamps is None or (self.timestamp_nulls and self.timestamp_nulls[row]):
            return None
        if isinstance(self.stamps, str):
            return self.stamps[row * STAMP_CHARS : (row + 1) * STAMP_CHARS]
        return self.stamps[row]

    def restore(self, row: int, stored: str) -> str:
        """
        :param row: Row in the chunk.
        :param stored: Its stored message.
        :return: The original message (the dropped timestamp copy put back, if any).
        """
        kind = self.elided[row] if self.elided is not None else self.elided_kind
        if kind == ELIDED_EPOCH:
            assert self.timestamps is not None
            return f"{JSON_TS_KEY}{self.timestamps[row]}{stored}"
        if kind == ELIDED_ISO:
            return f'{JSON_TS_KEY}"{self.stamp(row)}"{stored}'
        return stored

    def messages(self, start: int, stop: int) -> list[str]:
        """
        :param start: First row.
        :param stop: Row after the last.
        :return: The original messages of rows ``start:stop``.
        """
        stored = self.stored_messages(start, stop)
        if self.elided is None and self.elided_kind == ELIDED_NONE:
            return stored
        return [
            self.restore(row, message)
            for row, message in zip(range(start, stop), stored, strict=True)
        ]

    def record_batch(
        self, archive_names: Sequence[str], start: int = 0, stop: int | None = None
    ) -> pa.RecordBatch:
        """
        The rows as Arrow columns, to compute over.

        :param archive_names: The result's archive names, which the archive codes index.
        :param start: First row.
        :param stop: Row after the last (at most :attr:`num_rows`); None: the chunk's end.
        :return: Rows ``start:stop`` with :data:`~logpager.schema.RESULT_SCHEMA`: the
            timestamp and the event index null where the row has none, the original message
            (a dropped timestamp copy put back). A verbatim chunk's items come with
            :data:`~logpager.schema.VERBATIM_SCHEMA`.
        """
        stop = self.num_rows if stop is None else stop
        messages = pa.array(self.messages(start, stop), pa.string())
        if self.indexes is None or self.epoch_ms is None:
            return pa.record_batch([messages], schema=VERBATIM_SCHEMA)
        codes = (
            pa.array(self.archive_codes[start:stop], pa.int32())
            if self.archive_codes is not None
            else pa.array(np.zeros(stop - start, np.int32))
        )
        indexes = np.array(self.indexes[start:stop], np.int64)
        return pa.record_batch(
            [
                _int64(self.epoch_ms[start:stop], self.timestamp_nulls, start, stop),
                messages,
                pc.take(pa.array(archive_names, pa.string()), codes),
                _int64(indexes, self.index_nulls, start, stop),
            ],
            schema=RESULT_SCHEMA,
        )

    def items(self, start: int, stop: int, links: list[Link]) -> list[str]:
        """
        Formats rows as the reference's item lines,
        ``timestamp: <ISO>, message: <original event>, link: <link>``, where a text-log
        event is its line as written (:func:`~logpager.cache.codec.textevents.item_message`).

        Verbatim chunks return their items as stored.

        :param start: First row.
        :param stop: Row after the last (at most :attr:`num_rows`).
        :param links: Each archive code's link pieces.
        :return: The items of rows ``start:stop``.
        """
        indexes, stamps, text = self.indexes, self.stamps, self.text
        if indexes is None or stamps is None:
            return self.stored_messages(start, stop)
        link, kind = links[0], self.elided_kind
        if (
            link is None
            or text is None
            or not isinstance(stamps, str)
            or self.archive_codes is not None
            or self.index_nulls is not None
            or self.timestamp_nulls is not None
            or kind == ELIDED_MIXED
        ):
            return [
                self._item(row, message, links)
                for row, message in zip(
                    range(start, stop), self.stored_messages(start, stop), strict=True
                )
            ]
        # The warm-page cost is one of these loops: one f-string an item, the timestamp and
        # the message sliced from the chunk's text, a dropped timestamp copy written inline.
        # Plain loops over local names measured 3.5 us for 10 synthetic rows, against 5.3
        # for comprehensions over zipped lists.
        before, after = link
        offsets, width = self.offsets, STAMP_CHARS
        out = []
        if kind == ELIDED_ISO:
            for row in range(start, stop):
                stamp = stamps[row * width : row * width + width]
                out.append(
                    f'timestamp: {stamp}, message: {{"timestamp":"{stamp}"'
                    f"{text[offsets[row] : offsets[row + 1]]}, "
                    f"link: {before}{indexes[row]}{after}"
                )
        elif kind == ELIDED_EPOCH:
            # Text-log events: the item shows the line (see textevents); JSON events with an
            # epoch timestamp first, their JSON. Checking each tail cost ~0.5 us an item:
            # warm 10-item pages of HDFS, OpenSSH and Zookeeper took 21-22 us, 1.3x the
            # 16-17 us of items that kept the JSON (medians of 21 alternating rounds).
            epochs = self.timestamps
            assert epochs is not None
            for row in range(start, stop):
                tail = text[offsets[row] : offsets[row + 1]]
                line = line_of_epoch_tail(tail)
                if line is None:
                    line = item_message(f'{{"timestamp":{epochs[row]}{tail}')
                out.append(
                    f"timestamp: {stamps[row * width : row * width + width]}, message: "
                    f"{line}, link: {before}{indexes[row]}{after}"
                )
        else:
            for row in range(start, stop):
                out.append(
                    f"timestamp: {stamps[row * width : row * width + width]}, message: "
                    f"{item_message(text[offsets[row] : offsets[row + 1]])}, "
                    f"link: {before}{indexes[row]}{after}"
                )
        return out

    def _item(self, row: int, stored: str, links: list[Link]) -> str:
        """Formats one row in general: any archive, ``N/A`` for a missing timestamp or link."""
        assert self.indexes is not None
        stamp = self.stamp(row)
        code = self.archive_codes[row] if self.archive_codes is not None else 0
        link = links[code]
        if link is None or (self.index_nulls is not None and self.index_nulls[row]):
            where = "N/A"
        else:
            where = f"{link[0]}{self.indexes[row]}{link[1]}"
        message = item_message(self.restore(row, stored))
        return f"timestamp: {stamp or 'N/A'}, message: {message}, link: {where}"


def _int64(
    values: npt.NDArray[np.int64], nulls: list[bool] | None, start: int, stop: int
) -> pa.Array:
    """:return: ``values`` as an Arrow int64 column, null where ``nulls[start:stop]`` says."""
    if nulls is None:
        return pa.array(values, pa.int64())
    return pa.array(values, pa.int64(), mask=np.array(nulls[start:stop], np.bool_))
