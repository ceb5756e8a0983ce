"""The session store protocol: what any place that keeps sessions beyond one process offers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from logpager.store.records import HandleRecord, PrincipalRecord, SessionRecord

__all__ = ["SessionStore"]


@runtime_checkable
class SessionStore(Protocol):
    """
    Keeps results (compressed chunks and a meta record), handles, sessions and principals,
    each with a time to live, for every process that uses the same store.

    Every method may raise :class:`~logpager.errors.StoreUnavailableError` when the store
    does not answer; none leaves a result half-visible: :meth:`put_result` writes the chunks
    before the meta record, and :meth:`result_meta` answers only once both are whole.
    """

    @property
    def address(self) -> str:
        """:return: Where the store is, without any password (for messages and logs)."""
        ...

    def put_result(
        self, result_id: str, meta: bytes, chunks: Sequence[bytes], ttl_seconds: float
    ) -> None:
        """
        Keeps a result's chunks, then its meta record, for ``ttl_seconds``.

        :param result_id: A new random id for the result.
        :param meta: Its record (see :mod:`logpager.cache.stored`).
        :param chunks: Its compressed chunks, in order.
        :param ttl_seconds: How long the store keeps them.
        """
        ...

    def result_meta(self, result_id: str) -> tuple[bytes, int] | None:
        """
        :param result_id: A result's id.
        :return: Its meta record and the number of chunks held, or None if the meta record
            is gone (expired, evicted, or never finished).
        """
        ...

    def chunk(self, result_id: str, index: int) -> bytes | None:
        """
        :param result_id: A result's id.
        :param index: A chunk's index.
        :return: The chunk's bytes, or None if the store no longer holds it.
        """
        ...

    def drop_result(self, result_id: str) -> None:
        """:param result_id: A result whose chunks and meta record go now."""
        ...

    def put_handle(self, handle: str, record: HandleRecord, ttl_seconds: float) -> None:
        """
        :param handle: A result handle.
        :param record: What it names.
        :param ttl_seconds: How long it answers without being touched.
        """
        ...

    def handle(self, handle: str) -> HandleRecord | None:
        """
        :param handle: A handle as a caller gave it.
        :return: Its record, or None if the store knows no such handle.
        """
        ...

    def put_session(self, record: SessionRecord, ttl_seconds: float) -> None:
        """
        :param record: A session.
        :param ttl_seconds: Its idle lifetime.
        """
        ...

    def session(self, session_id: str) -> SessionRecord | None:
        """
        :param session_id: A session's id.
        :return: Its record, or None if the store knows no such live session.
        """
        ...

    def put_principal(self, principal: str, record: PrincipalRecord, ttl_seconds: float) -> None:
        """
        :param principal: An authenticated principal.
        :param record: What is known of it across connections.
        :param ttl_seconds: How long it is kept without being written again.
        """
        ...

    def principal(self, principal: str) -> PrincipalRecord | None:
        """
        :param principal: An authenticated principal.
        :return: Its record, or None if the store holds none.
        """
        ...

    def touch(self, handle: str, session_id: str, ttl_seconds: float) -> None:
        """
        Keeps a handle and its session for another ``ttl_seconds`` (they are in use).

        :param handle: A handle.
        :param session_id: Its session.
        :param ttl_seconds: Their idle lifetime from now.
        """
        ...

    def ping(self) -> None:
        """Checks that the store answers (raises if it does not)."""
        ...

    def close(self) -> None:
        """Lets go of connections; the store's data stays."""
        ...
