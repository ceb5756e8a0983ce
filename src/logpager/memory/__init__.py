"""Memory: the governor that evicts under pressure, the probe it reads, the allocators it asks."""

__all__: list[str] = []
