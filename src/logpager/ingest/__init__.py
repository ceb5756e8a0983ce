"""Ingest: log files (JSON lines or plain text, optionally compressed) into clp-s archives."""

from __future__ import annotations

from logpager.ingest.customformat import TimestampSpec
from logpager.ingest.ingestion import IngestReport, ingest
from logpager.ingest.inputs import TIMESTAMP_KEY_CANDIDATES, detect_timestamp_key
from logpager.ingest.samples import SAMPLE_YEARS, ingest_samples, sample_files, samples_dir
from logpager.ingest.summary import FileSummary

__all__ = [
    "SAMPLE_YEARS",
    "TIMESTAMP_KEY_CANDIDATES",
    "FileSummary",
    "IngestReport",
    "TimestampSpec",
    "detect_timestamp_key",
    "ingest",
    "ingest_samples",
    "sample_files",
    "samples_dir",
]
