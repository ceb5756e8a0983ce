"""The one settings object: every tunable of logpager, once, grouped by the part it tunes.

Each group of fields lives in the module of its part (:mod:`.sessions`, :mod:`.chunks`,
:mod:`.search`, :mod:`.server`, :mod:`.memory`, :mod:`.ingest`, :mod:`.store`);
:class:`Settings` is all of them in one validated object that reads ``LOGPAGER_<NAME>``
environment variables.
"""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import PrivateAttr
from pydantic_settings import BaseSettings, SettingsConfigDict

from logpager.settings.analysis import AnalysisFields
from logpager.settings.chunks import ChunkFields
from logpager.settings.ingest import IngestFields
from logpager.settings.memory import MemoryFields
from logpager.settings.search import SearchFields
from logpager.settings.server import ServerFields
from logpager.settings.sessions import SessionFields
from logpager.settings.store import StoreFields

__all__ = ["Settings"]


class Settings(
    SessionFields,
    ChunkFields,
    SearchFields,
    ServerFields,
    MemoryFields,
    IngestFields,
    AnalysisFields,
    StoreFields,
    BaseSettings,
):
    """
    Every setting of logpager, validated on construction and on assignment.

    The seed's four settings keep their names and defaults (``page_size=10``,
    ``max_cached_results=1000``, ``session_ttl_minutes=60``, ``query_ttl_minutes=30``).
    """

    model_config = SettingsConfigDict(
        env_prefix="LOGPAGER_",
        validate_assignment=True,
        extra="forbid",
        frozen=False,
    )

    # Where each value came from, as load_settings found it: for messages that tell a person
    # which flag, variable or profile to change.
    _sources: dict[str, str] = PrivateAttr(default_factory=dict)

    def workers_problem(self) -> str | None:
        """
        Checks ``workers`` against the settings it needs. Not a validator: those also run on
        the environment's values alone, before a flag has given ``--transport`` or
        ``--store``; :func:`~logpager.settings.load_settings` runs this on the whole, and the
        server again before it starts.

        :return: What is wrong, naming the flags that fix it and where ``workers`` came
            from; None if nothing is.
        """
        if self.workers == 1:
            return None
        given = f"workers {self.workers} (from {self.source_of('workers')})"
        if self.transport != "http":
            return (
                f"{given} needs the HTTP transport: pass --transport http (or "
                "LOGPAGER_TRANSPORT=http), or leave workers at 1"
            )
        if self.store_url is None or not self.store_url.startswith("redis"):
            return (
                f"{given} needs a session store every worker process shares: pass --store "
                "redis://HOST:PORT/DB (or LOGPAGER_STORE_URL), or leave workers at 1"
            )
        return None

    def record_sources(self, sources: Mapping[str, str]) -> None:
        """
        :param sources: Where values came from, by setting name (``--data-dir``,
            ``LOGPAGER_DATA_DIR``, ``profile PATH``); set by ``load_settings``.
        """
        self._sources = dict(sources)

    def source_of(self, name: str) -> str:
        """
        :param name: A setting's name.
        :return: Where its value came from: a flag, a ``LOGPAGER_*`` variable, ``profile
            PATH``, ``the caller`` (code), or ``the default``.
        """
        return self._sources.get(name, "the default")

    @property
    def session_ttl_seconds(self) -> float:
        """:return: Idle time a session is allowed (``session_ttl_minutes``), in seconds."""
        return self.session_ttl_minutes * 60.0

    @property
    def query_ttl_seconds(self) -> float:
        """:return: Lifetime of one result (``query_ttl_minutes``), in seconds."""
        return self.query_ttl_minutes * 60.0

    @property
    def chunk_rows(self) -> int:
        """:return: Rows in one compressed chunk (``pages_per_chunk x page_size``)."""
        return self.pages_per_chunk * self.page_size
