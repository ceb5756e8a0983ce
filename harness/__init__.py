"""What tests and benchmarks share: server processes on free ports, in-memory result rows,
and the memory soak of a real server. Neither imports the other; both import this."""
