"""The one settings object: every tunable of logpager, once, grouped by the part it tunes.

Each group of fields lives in the module of its part (:mod:`.sessions`, :mod:`.chunks`,
:mod:`.search`, :mod:`.server`, :mod:`.memory`, :mod:`.ingest`, :mod:`.store`);
:class:`Settings` is all of them in one validated object that reads ``LOGPAGER_<NAME>``
environment variables.
"""

from __future__ import annotations

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

    @property
    def chunk_rows(self) -> int:
        """:return: Rows in one compressed chunk (``pages_per_chunk x page_size``)."""
        return self.pages_per_chunk * self.page_size
