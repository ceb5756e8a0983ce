"""The startup heap, moved out of the garbage collector's reach before the server serves."""

from __future__ import annotations

import gc
import logging

__all__ = ["freeze_startup_heap"]

logger = logging.getLogger(__name__)


def freeze_startup_heap(enabled: bool) -> int:
    """
    Collects once, then freezes every object alive (the modules, the app, the settings):
    later collections never walk them again (see the ``gc_freeze`` setting for what it saved).

    :param enabled: The ``gc_freeze`` setting; False does nothing.
    :return: The objects frozen (0 when not enabled).
    """
    if not enabled:
        return 0
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    logger.debug("froze %d objects of the startup heap", frozen)
    return frozen
