"""Analysis over cached results and archives: counts, log patterns, fields, context, filters.

Everything computes over Arrow record batches one decoded chunk at a time
(:meth:`logpager.cache.QueryResult.record_batches`), so memory stays bounded by a chunk, not
by the result's size.
"""

__all__: list[str] = []
