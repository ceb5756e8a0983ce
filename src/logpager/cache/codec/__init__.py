"""The chunk format: how result rows are encoded, laid out, compressed and decoded.

:mod:`~logpager.cache.codec.encode` makes the stored table (with
:mod:`~logpager.cache.codec.elide` dropping timestamp copies),
:mod:`~logpager.cache.codec.layout` lays its chunks out as bytes,
:mod:`~logpager.cache.codec.contexts` decompresses them,
:mod:`~logpager.cache.codec.decode` reads them into a
:mod:`~logpager.cache.codec.decoded` chunk that pages and record batches are cut from.
"""

__all__: list[str] = []
