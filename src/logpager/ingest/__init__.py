"""Ingest: log files (JSON lines or plain text, optionally compressed) into clp-s archives."""

from __future__ import annotations

from logpager.ingest.ingestion import IngestReport, ingest
from logpager.ingest.inputs import TIMESTAMP_KEY_CANDIDATES, detect_timestamp_key
from logpager.ingest.samples import ingest_samples, sample_files, samples_dir

__all__ = [
    "TIMESTAMP_KEY_CANDIDATES",
    "IngestReport",
    "detect_timestamp_key",
    "ingest",
    "ingest_samples",
    "sample_files",
    "samples_dir",
]
