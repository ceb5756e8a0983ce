"""Where the real log samples are: the shared loghub set beside the repository, or the
bundled copy of five of them."""

from __future__ import annotations

from pathlib import Path

__all__ = ["LOGHUB", "SAMPLES"]


def _loghub_dir() -> Path:
    # The shared data set sits beside the repository (../shared); the bundled copy of the
    # same five samples stands in where it is absent.
    beside = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "loghub"
    if beside.is_dir():
        return beside
    return Path(__file__).resolve().parents[2] / "src" / "logpager" / "samples" / "loghub"


LOGHUB = _loghub_dir()

SAMPLES = ["Apache_2k.log", "HDFS_2k.log", "Linux_2k.log", "OpenSSH_2k.log", "Zookeeper_2k.log"]
"""The five samples of 2,000 lines that both the shared set and the bundled copy hold."""
