"""Where a result's compressed chunks are held: in this process, or in a session store."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

__all__ = ["ChunkSource", "HeldChunks"]


class ChunkSource(Protocol):
    """A result's compressed chunks, by index."""

    def __len__(self) -> int:
        """:return: The number of chunks."""
        ...

    def __getitem__(self, index: int) -> bytes:
        """
        :param index: A chunk, ``0 <= index < len(self)``.
        :return: Its compressed bytes.
        :raise ChunkLostError: If the chunk is gone from where it was kept.
        :raise StoreUnavailableError: If it is kept in a store that does not answer.
        """
        ...

    def __iter__(self) -> Iterator[bytes]:
        """:return: Every chunk's bytes, in order."""
        ...

    @property
    def held_bytes(self) -> int:
        """:return: The bytes of chunks this process holds itself (0 for a store's)."""
        ...


class HeldChunks:
    """
    Chunks held in this process's memory: a result's own, the default.

    :param chunks: The compressed chunks, in order.
    """

    __slots__ = ("_chunks", "held_bytes")

    def __init__(self, chunks: Sequence[bytes]) -> None:
        self._chunks = list(chunks)
        self.held_bytes = sum(len(c) for c in self._chunks)

    def __len__(self) -> int:
        return len(self._chunks)

    def __getitem__(self, index: int) -> bytes:
        return self._chunks[index]

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def as_list(self) -> list[bytes]:
        """:return: The chunks themselves (for writing them to a store)."""
        return self._chunks
