"""One session: its live results in recency order, and the tombstones of those it dropped."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from logpager.cache import PageDict, QueryResult
from logpager.sessions.query_key import ReuseKey
from logpager.sessions.tombstones import Tombstone, TombstoneReason

__all__ = ["HandleNote", "SessionState"]


@dataclass(slots=True)
class HandleNote:
    """
    What a session remembers of how it got a handle, for as long as the handle answers.

    :param issued_at: When the handle was handed out (clock reading).
    :param reused: Whether it was served from another search's live result.
    :param key: The search's reuse key while its result may serve identical searches (None:
        not a search's result, e.g. derived or re-run).
    """

    issued_at: float
    reused: bool = False
    key: ReuseKey | None = None


@dataclass
class SessionState:
    """
    One session: its results (newest last), its tombstones, and when it was last used.

    Its results are kept in recency order (the governor evicts from the front); every result
    it drops leaves a tombstone, and its tombstones are bounded. The methods that make handles
    stop answering return those handles, so that the owner of the handle index can forget
    them. Mutated only through :class:`~logpager.sessions.SessionManager`, under its lock.
    """

    session_id: str
    created_at: float
    last_accessed: float
    is_instructions_retrieved: bool = False
    principal: str | None = None
    """The authenticated principal that owns the session (None: auth is off)."""
    tool_calls: int = 0
    """Tool calls made in this session so far (the server's instructions rule reads it)."""
    results: OrderedDict[str, QueryResult] = field(default_factory=OrderedDict)
    tombstones: OrderedDict[str, Tombstone] = field(default_factory=OrderedDict)
    latest_handle: str | None = None
    notes: dict[str, HandleNote] = field(default_factory=dict)
    """How each handle that answers was issued (see :class:`HandleNote`); not every one has
    a note (results cached through the seed API have none)."""

    def is_expired(self, now: float, ttl_seconds: float) -> bool:
        """
        :param now: Current clock reading.
        :param ttl_seconds: Idle time allowed.
        :return: Whether the session has been idle longer than ``ttl_seconds``.
        """
        return now - self.last_accessed > ttl_seconds

    @property
    def compressed_bytes(self) -> int:
        """:return: Compressed bytes of all live results."""
        return sum(r.compressed_bytes for r in self.results.values())

    @property
    def nbytes(self) -> int:
        """:return: Bytes of all live results, decoded chunks included."""
        return sum(r.nbytes for r in self.results.values())

    @property
    def handles(self) -> list[str]:
        """:return: Every handle that answers in this session: live results, then tombstones."""
        return [*self.results, *self.tombstones]

    def expired_handles(self, now: float, ttl_seconds: float) -> list[str]:
        """
        :param now: Current clock reading.
        :param ttl_seconds: Lifetime of one result.
        :return: The handles of the live results built more than ``ttl_seconds`` ago.
        """
        return [h for h, r in self.results.items() if now - r.created_at > ttl_seconds]

    def add_result(
        self,
        handle: str,
        result: QueryResult,
        *,
        latest: bool,
        max_results: int,
        max_tombstones: int,
    ) -> list[str]:
        """
        Holds a result as the most recently used, in place of its tombstone if it had one; the
        oldest results past ``max_results`` are dropped as replaced.

        :param handle: The result's handle.
        :param result: The result.
        :param latest: Whether it becomes the default for paging (a new result does, a re-run
            one does not).
        :param max_results: Live results the session keeps.
        :param max_tombstones: Tombstones the session keeps.
        :return: The handles that no longer answer.
        """
        self.tombstones.pop(handle, None)
        self.results[handle] = result
        if latest:
            self.latest_handle = handle
        forgotten: list[str] = []
        while len(self.results) > max_results:
            oldest = next(iter(self.results))
            forgotten += self.drop_result(oldest, TombstoneReason.REPLACED, max_tombstones)[1]
        return forgotten

    def drop_result(
        self, handle: str, reason: TombstoneReason, max_tombstones: int
    ) -> tuple[int, list[str]]:
        """
        Drops a live result, leaving its tombstone; the oldest tombstones past
        ``max_tombstones`` are forgotten, except the newest result's.

        :param handle: The handle of a live result.
        :param reason: Why it goes.
        :param max_tombstones: Tombstones the session keeps.
        :return: The bytes the result held, and the handles that no longer answer.
        :raise KeyError: If ``handle`` is not a live result.
        """
        result = self.results.pop(handle)
        # Every dropped result leaves a tombstone, so its handle keeps answering with the
        # right message (expired, replaced, or re-run after eviction) instead of "unknown".
        self.tombstones[handle] = Tombstone(
            handle=handle,
            spec=result.spec.with_cap(max(result.num_items, 1)),
            created_at=result.created_at,
            reason=reason,
        )
        forgotten: list[str] = []
        excess = len(self.tombstones) - max_tombstones
        if excess > 0:
            # The newest result's tombstone stays: default paging must keep its message.
            forgotten = [h for h in self.tombstones if h != self.latest_handle][:excess]
            for old in forgotten:
                del self.tombstones[old]
                self.notes.pop(old, None)
        return result.nbytes, forgotten

    def serve(self, handle: str, page_index: object) -> PageDict:
        """
        Serves a page of a live result and marks the result as the most recently used.

        :param handle: The handle of a live result.
        :param page_index: 0-based page index.
        :return: The page dict, with ``result_handle``.
        :raise PageError: If the page index is invalid.
        """
        page = self.results[handle].get_page(page_index)
        page["result_handle"] = handle
        # Keep the session's results in recency order: the governor evicts from the front.
        self.results.move_to_end(handle)
        return page

    def use(self, handle: str) -> QueryResult:
        """
        Hands out a live result for work other than paging (analysis), marked as used now.

        :param handle: The handle of a live result.
        :return: The result.
        """
        result = self.results[handle]
        result.touch()
        self.results.move_to_end(handle)
        return result

    def check(self, max_results: int, max_tombstones: int) -> None:
        """
        Verifies the session's own accounting and each live result's.

        :param max_results: Live results the session may hold.
        :param max_tombstones: Tombstones the session may hold (the newest result's may stay
            beyond a bound of 0).
        :raise AssertionError: If the results, the tombstones or the bounds disagree.
        """
        for result in self.results.values():
            result.check()
        sid = self.session_id
        if len(self.results) > max_results:
            msg = f"session {sid} holds {len(self.results)} results"
            raise AssertionError(msg)
        if len(self.tombstones) > max(max_tombstones, 1):
            msg = f"session {sid} holds {len(self.tombstones)} tombstones"
            raise AssertionError(msg)
        if both := self.results.keys() & self.tombstones.keys():
            msg = f"session {sid} holds {len(both)} handle(s) both live and as tombstones"
            raise AssertionError(msg)
        if stray := self.notes.keys() - self.results.keys() - self.tombstones.keys():
            msg = f"session {sid} keeps notes of {len(stray)} handle(s) that do not answer"
            raise AssertionError(msg)
        if self.latest_handle is not None and self.latest_handle not in self.handles:
            msg = f"session {sid} lost its newest result's handle"
            raise AssertionError(msg)
