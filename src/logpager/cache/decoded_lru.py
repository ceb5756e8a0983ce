"""The few decoded chunks a result keeps for sequential paging, and the bytes they hold."""

from __future__ import annotations

from collections import OrderedDict

from logpager.cache.codec.decoded import DecodedChunk

__all__ = ["DecodedLRU"]


class DecodedLRU:
    """
    A result's least recently used decoded chunks, by chunk index, at most ``capacity``.

    :attr:`nbytes` is kept equal to the sum of the held chunks' ``nbytes`` as chunks come and
    go (:meth:`check` recounts it), so a result's memory is known without a walk.

    :param capacity: Chunks kept at most; 0 keeps none.
    """

    __slots__ = ("_chunks", "capacity", "nbytes")

    def __init__(self, capacity: int) -> None:
        self._chunks: OrderedDict[int, DecodedChunk] = OrderedDict()
        self.capacity = capacity
        self.nbytes = 0
        """Approximate bytes held (string payloads and per-object overhead)."""

    def __len__(self) -> int:
        return len(self._chunks)

    def get(self, chunk_index: int) -> DecodedChunk | None:
        """
        :param chunk_index: A chunk of the result.
        :return: The chunk, now the most recently used, if it is held.
        """
        cached = self._chunks.get(chunk_index)
        if cached is not None:
            self._chunks.move_to_end(chunk_index)
        return cached

    def peek(self, chunk_index: int) -> DecodedChunk | None:
        """
        :param chunk_index: A chunk of the result.
        :return: The chunk if it is held, its place in the LRU unchanged.
        """
        return self._chunks.get(chunk_index)

    def put(self, chunk_index: int, chunk: DecodedChunk) -> None:
        """
        Keeps a chunk just decoded (not held yet), dropping the least recently used beyond
        the capacity.

        :param chunk_index: The chunk's index in the result.
        :param chunk: The decoded chunk.
        """
        if self.capacity > 0:
            self._chunks[chunk_index] = chunk
            self.nbytes += chunk.nbytes
            while len(self._chunks) > self.capacity:
                _, old = self._chunks.popitem(last=False)
                self.nbytes -= old.nbytes

    def indexes(self) -> list[int]:
        """:return: The chunk indexes held, least recently used first."""
        return list(self._chunks)

    def clear(self) -> int:
        """
        Drops every chunk (cheap to decode again).

        :return: Bytes released.
        """
        freed = self.nbytes
        self._chunks.clear()
        self.nbytes = 0
        return freed

    def check(self) -> None:
        """
        :raise AssertionError: If :attr:`nbytes` is not the held chunks' sum, or more than
            ``capacity`` chunks are held.
        """
        decoded = sum(v.nbytes for v in self._chunks.values())
        if decoded != self.nbytes:
            msg = f"decoded bytes {self.nbytes} != recount {decoded}"
            raise AssertionError(msg)
        if len(self._chunks) > self.capacity:
            msg = f"decoded LRU holds {len(self._chunks)} > {self.capacity}"
            raise AssertionError(msg)
