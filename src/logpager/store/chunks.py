"""A result's chunks read from a session store, one round trip a cold chunk."""

from __future__ import annotations

from collections.abc import Iterator

from logpager.errors import ChunkLostError
from logpager.store.protocol import SessionStore

__all__ = ["StoreChunks"]


class StoreChunks:
    """
    The chunks of one stored result, fetched when a page needs one (this process keeps only
    the result's small LRU of decoded chunks).

    :param store: The store that holds them.
    :param result_id: The result's id there.
    :param count: How many chunks it has.
    """

    __slots__ = ("_count", "_store", "result_id")

    held_bytes = 0
    """Chunks held in this process: none."""

    def __init__(self, store: SessionStore, result_id: str, count: int) -> None:
        self._store = store
        self.result_id = result_id
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index: int) -> bytes:
        if not 0 <= index < self._count:
            raise IndexError(index)
        chunk = self._store.chunk(self.result_id, index)
        if chunk is None:
            raise ChunkLostError(index)
        return chunk

    def __iter__(self) -> Iterator[bytes]:
        for index in range(self._count):
            yield self[index]
