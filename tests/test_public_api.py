"""The names logpager exports are deliberate; this pins the exact set."""

from __future__ import annotations

import importlib.metadata
import inspect

import logpager

EXPECTED = {
    # the seed's session layer
    "QueryResult",
    "MemoryStore",
    "RedisStore",
    "SessionManager",
    "SessionStore",
    "SessionState",
    "Tombstone",
    "TombstoneReason",
    # building results and searching
    "QuerySpec",
    "ResultBuilder",
    "RESULT_SCHEMA",
    "SearchBackend",
    "SearchOutcome",
    "ClpSBackend",
    "search_and_cache",
    "search_and_cache_async",
    "ingest",
    "IngestReport",
    "FileSummary",
    "TimestampSpec",
    "MemoryGovernor",
    # settings
    "Settings",
    "load_settings",
    "open_store",
    # errors
    "LogpagerError",
    "SettingsError",
    "StoreUnavailableError",
    "PageError",
    "InvalidPageIndexError",
    "InvalidArgumentError",
    "SessionNotFoundError",
    "SessionExpiredError",
    "ResultExpiredError",
    "ResultReplacedError",
    "NoResultError",
    "ResultEvictedError",
    "RerunFailedError",
    "InstructionsRequiredError",
    "UnknownHandleError",
    "SearchError",
    "QuerySyntaxError",
    "NoArchivesError",
    "SearchTimeoutError",
    "BackendCrashedError",
    "ChunkLostError",
    "DerivedResultEvictedError",
    "InvalidTimestampError",
    "IngestError",
    "ServerStartupError",
    "WorkerFailedError",
    "__version__",
}


def test_exported_names_are_exactly_the_public_api() -> None:
    assert set(logpager.__all__) == EXPECTED
    assert len(logpager.__all__) == len(EXPECTED)


def test_every_exported_name_resolves() -> None:
    for name in logpager.__all__:
        assert hasattr(logpager, name), name


def test_nothing_public_is_exported_by_accident() -> None:
    public = {n for n in vars(logpager) if not n.startswith("_")}
    submodules = {n for n, v in vars(logpager).items() if inspect.ismodule(v)}
    # Importing a subpackage binds its name on the package; those are modules, not API.
    assert public - submodules - {"annotations"} == EXPECTED - {"__version__"}


def test_version_matches_the_distribution() -> None:
    assert logpager.__version__ == importlib.metadata.version("logpager")
