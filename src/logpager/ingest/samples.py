"""The real log samples (Loghub) bundled with logpager, and ingesting them once."""

from __future__ import annotations

from pathlib import Path

from logpager.errors import IngestError
from logpager.ingest.ingestion import IngestReport, ingest
from logpager.ingest.progress import ProgressFn
from logpager.search.datadir import list_archive_ids
from logpager.settings import Settings

__all__ = ["SAMPLE_YEARS", "ingest_samples", "sample_files", "samples_dir"]

SAMPLE_YEARS: dict[str, int] = {
    # Its ftpd lines name the year: "connection from ... at Fri Jun 17 07:07:00 2005".
    "Linux_2k.log": 2005,
    # Nothing in Loghub states the year of this lab server's December (28.4 days from Dec 10);
    # 2015 is the year of the collection before Loghub's first publications, not a reading.
    "OpenSSH_2k.log": 2015,
}
"""The true year of the bundled samples whose timestamps have none (the files' modification
times say when they were copied, not when they were written)."""


def samples_dir() -> Path:
    """:return: The folder of bundled real sample logs (Loghub)."""
    return Path(__file__).resolve().parents[1] / "samples" / "loghub"


def sample_files() -> list[Path]:
    """:return: The bundled sample log files, sorted."""
    return sorted(samples_dir().glob("*.log"))


def ingest_samples(
    data_dir: str | Path,
    *,
    settings: Settings | None = None,
    progress: ProgressFn | None = None,
    default_year: int | None = None,
) -> IngestReport:
    """
    Ingests the bundled Loghub samples, once: a data directory that already holds archives
    is left as it is.

    :param data_dir: Target data directory.
    :param settings: Settings (``clp_s_path``).
    :param progress: Progress callback, as for :func:`~logpager.ingest.ingestion.ingest`.
    :param default_year: Year for the yearless syslog samples (Linux, OpenSSH); ``None``
        gives each its true year (:data:`SAMPLE_YEARS`).
    :return: What was added (nothing when archives were already there).
    :raise IngestError: If the samples are missing or cannot be ingested.
    """
    if list_archive_ids(Path(data_dir)):
        return IngestReport()
    files = sample_files()
    if not files:
        msg = f"{samples_dir()}: the bundled samples are missing"
        raise IngestError(msg)
    years = (
        {}
        if default_year is not None
        else {p: SAMPLE_YEARS[p.name] for p in files if p.name in SAMPLE_YEARS}
    )
    return ingest(
        files,
        data_dir=data_dir,
        settings=settings,
        progress=progress,
        default_year=default_year,
        file_years=years,
    )
