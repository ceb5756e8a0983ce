"""codec.contexts: zstd decompression contexts shared per thread."""

from __future__ import annotations

import threading

import zstandard

from logpager.cache.codec import contexts as chunkcontexts
from logpager.cache.codec.contexts import decompress


def test_decompress_shares_contexts_and_bounds_the_dictionary_ones():
    samples: list[bytes | bytearray | memoryview] = [
        f"event {i} with some text {i % 17}".encode() * 8 for i in range(400)
    ]
    dictionaries = [
        zstandard.train_dictionary(2_048, samples, dict_id=1 + k).as_bytes() for k in range(6)
    ]
    blobs = [
        zstandard.ZstdCompressor(dict_data=zstandard.ZstdCompressionDict(d)).compress(b"x" * 99)
        for d in dictionaries
    ]
    for d, blob in zip(dictionaries, blobs, strict=True):
        assert decompress(blob, d) == b"x" * 99
    assert decompress(zstandard.compress(b"plain"), None) == b"plain"
    contexts = chunkcontexts._contexts.with_dictionary
    assert len(contexts) == chunkcontexts._DICTIONARY_CONTEXTS
    assert list(contexts) == dictionaries[-chunkcontexts._DICTIONARY_CONTEXTS :]


def test_decompress_from_several_threads():
    data = [bytes([i]) * 50_000 for i in range(8)]
    blobs = [zstandard.compress(d) for d in data]
    failures: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(200):
                for d, blob in zip(data, blobs, strict=True):
                    assert decompress(blob, None) == d
        except BaseException as exc:  # reported below, from the main thread
            failures.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
