"""Decompressing a stored chunk with zstd contexts shared per thread, not held per result.

A context with a digested dictionary costs ~120 KB of C memory that tracemalloc does not see,
more than a whole 2,000-event result, so results hold only their dictionary's bytes and
:func:`decompress` keeps a few contexts per thread.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import zstandard

__all__ = ["decompress"]

# Contexts with a dictionary kept per thread. A cold page of a result whose context is not
# here pays ~16 us to digest its dictionary again (measured: 31 us against 15 us for a 25 KB
# chunk); four cover an agent paging a few results in turn, for ~0.5 MB a thread.
_DICTIONARY_CONTEXTS = 4


class _Contexts(threading.local):
    """One thread's zstd decompression contexts (python-zstandard's are not thread-safe)."""

    def __init__(self) -> None:
        self.plain = zstandard.ZstdDecompressor()
        self.with_dictionary: OrderedDict[bytes, zstandard.ZstdDecompressor] = OrderedDict()


_contexts = _Contexts()


def decompress(blob: bytes, dictionary: bytes | None) -> bytes:
    """
    Decompresses one chunk with this thread's shared context.

    :param blob: A zstd frame with its content size.
    :param dictionary: The result's dictionary, if it was compressed with one.
    :return: The chunk's bytes.
    :raise zstandard.ZstdError: If the frame is corrupt or needs another dictionary.
    """
    contexts = _contexts
    if not dictionary:
        return bytes(contexts.plain.decompress(blob))
    cache = contexts.with_dictionary
    # Keyed by the bytes object: its hash is computed once and cached by CPython, and a
    # lookup compares identity first.
    context = cache.get(dictionary)
    if context is None:
        context = zstandard.ZstdDecompressor(dict_data=zstandard.ZstdCompressionDict(dictionary))
        cache[dictionary] = context
        if len(cache) > _DICTIONARY_CONTEXTS:
            cache.popitem(last=False)
    else:
        cache.move_to_end(dictionary)
    return bytes(context.decompress(blob))
