"""The tools' behaviour, apart from their MCP registration (so it reads top to bottom).

A failure is ``{"Error": "<message>"}``, never a stack trace.

The instructions-first rule: on handshake-era connections ``get_instructions()`` must come
first, as in the reference (``settings.require_instructions``). A stateless connection has
no state that could remember the call, and the same instructions already reach the client in
the server's ``instructions`` (sent with ``server/discover``), so on stateless connections
the rule is taken as met: a new stateless session starts with instructions retrieved. The
rejected alternative, handing out a token from ``get_instructions()`` that searches must
carry, would change the reference's tool signatures that agents are prompted for.
"""

from __future__ import annotations

import logging

from fastmcp import Context

from logpager.cache import PageDict
from logpager.errors import INSTRUCTIONS_REQUIRED_TEXT, LogpagerError
from logpager.memory.governor import MemoryGovernor
from logpager.query import QuerySpec
from logpager.search import SearchBackend
from logpager.search.pipeline import search_and_cache_async
from logpager.server.instructions import INSTRUCTIONS
from logpager.server.session_keys import connection_key, is_stateless, resolve_session_key
from logpager.sessions import SessionManager
from logpager.timeutil import parse_iso8601_ms

__all__ = ["Tools"]

logger = logging.getLogger(__name__)


def _error(message: str) -> PageDict:
    return {"Error": message}


class Tools:
    """
    The tools' behaviour over one session manager, search backend and memory governor.

    Each tool method answers the agent whatever happens: a failure comes back as
    ``{"Error": "<message>"}`` (unexpected ones logged, named by exception type only), never
    as an exception.
    """

    def __init__(
        self, manager: SessionManager, backend: SearchBackend, governor: MemoryGovernor | None
    ) -> None:
        """
        :param manager: The session manager (its settings rule the cache).
        :param backend: The search engine.
        :param governor: The memory governor of ``manager``, if it is governed.
        """
        # The manager's settings rule the cache (they may differ from the server's when a
        # manager is passed in); the backend keeps its own for the engine.
        self.manager = manager
        self.backend = backend
        self.governor = governor

    # --- sessions -----------------------------------------------------------------------------

    def _resolve(self, ctx: Context, handle: str | None, *, for_search: bool) -> tuple[str, bool]:
        """As :func:`~logpager.server.session_keys.resolve_session_key` over this manager."""
        return resolve_session_key(self.manager, ctx, handle, for_search=for_search)

    # --- tools ---------------------------------------------------------------------------------

    def get_instructions(self, ctx: Context) -> str:
        """
        :param ctx: The request context.
        :return: The instructions; on a handshake-era connection its session is marked as
            having retrieved them.
        """
        if not is_stateless(ctx):
            self.manager.mark_instructions_retrieved(connection_key(ctx))
        return INSTRUCTIONS

    async def search(
        self,
        ctx: Context,
        kql_query: str,
        begin_timestamp: str | None,
        end_timestamp: str | None,
        result_handle: str | None,
    ) -> PageDict:
        try:
            key, new_session = self._resolve(ctx, result_handle, for_search=True)
            if (
                not new_session
                and self.manager.settings.require_instructions
                and not self.manager.get_or_create_session(key).is_instructions_retrieved
            ):
                # Checked before the search runs, not only when caching: no wasted engine work.
                return _error(INSTRUCTIONS_REQUIRED_TEXT)
            spec = QuerySpec(
                kql_query,
                parse_iso8601_ms(begin_timestamp) if begin_timestamp is not None else None,
                parse_iso8601_ms(end_timestamp) if end_timestamp is not None else None,
                max_results=self.manager.max_cached_results,
            )
            # The search and the build overlap (see logpager.search.pipeline); neither blocks
            # the event loop.
            result, _outcome = await search_and_cache_async(
                self.backend,
                spec,
                settings=self.manager.settings,
                max_compressed_bytes=(
                    self.governor.max_result_bytes() if self.governor is not None else None
                ),
                clock=self.manager.now,
            )
            if result.truncated and self.governor is not None:
                self.governor.note_result(result)
            if new_session:
                # The rule is met through server/discover instructions (see the module doc).
                self.manager.mark_instructions_retrieved(key)
            # The result carries its spec and match count; the manager only files it.
            page, _ = self.manager.cache_query_result(key, kql_query, result)
            return page
        except LogpagerError as exc:
            return _error(str(exc))
        except Exception as exc:
            logger.exception("search_by_kql failed unexpectedly (query %r)", kql_query)
            return _error(f"Internal error while searching ({type(exc).__name__}).")

    def get_nth_page(self, ctx: Context, page_index: object, result_handle: str | None) -> PageDict:
        """
        :param ctx: The request context.
        :param page_index: The page asked for, as received (checked against the result).
        :param result_handle: The result to page through (default: the session's latest;
            required on stateless connections).
        :return: The page, or ``{"Error": "<message>"}``.
        """
        # page_index is checked by the session manager once the result is known, so that the
        # error names the valid range.
        try:
            key, _ = self._resolve(ctx, result_handle, for_search=False)
            return self.manager.get_nth_page(key, page_index, result_handle)
        except LogpagerError as exc:
            return _error(str(exc))
        except Exception as exc:
            logger.exception("get_nth_page failed unexpectedly")
            return _error(f"Internal error while paging ({type(exc).__name__}).")
