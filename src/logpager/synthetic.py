"""Realistic synthetic JSON-lines logs, fast and deterministic, for demos and benchmarks.

Each event looks like a microservice log line::

    {"timestamp":"2024-05-01T12:00:00.123Z","level":"INFO","service":"checkout",
     "host":"checkout-2","trace_id":"5f0c...","client_ip":"10.1.2.3","user_id":"u-1042",
     "duration_ms":87,"status":200,"message":"GET /api/v1/cart/1042 completed in 87 ms"}

Levels are drawn with fixed weights (INFO 62%, DEBUG 18%, WARN 13%, ERROR 7%), so
``level: DEBUG`` selects about 18% of the events. Timestamps increase over the time span.
The same seed gives the same bytes. Every value is built from characters that need no JSON
escaping, so lines are assembled with f-strings (about 5x faster than ``json.dumps``).

Usage::

    python -m logpager.synthetic 1000000 events.jsonl [--seed 7] [--start 2024-05-01T00:00:00Z]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from logpager.errors import InvalidTimestampError
from logpager.timeutil import parse_iso8601_ms

__all__ = [
    "DEFAULT_SPAN_MS",
    "DEFAULT_START_MS",
    "LEVEL_WEIGHTS",
    "iter_events",
    "main",
    "write_events",
]

DEFAULT_START_MS = 1_714_521_600_000
"""2024-05-01T00:00:00Z."""
DEFAULT_SPAN_MS = 24 * 3600 * 1000
"""One day."""

LEVEL_WEIGHTS: dict[str, float] = {"INFO": 0.62, "DEBUG": 0.18, "WARN": 0.13, "ERROR": 0.07}

_SERVICES = ("checkout", "payments", "inventory", "auth", "search", "gateway", "shipping")
_PATHS = ("/api/v1/cart", "/api/v1/orders", "/api/v1/items", "/api/v1/users", "/healthz")
_METHODS = ("GET", "GET", "GET", "POST", "PUT", "DELETE")
_TABLES = ("orders", "users", "items", "payments", "sessions")

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "INFO": (
        "{method} {path}/{num} completed in {dur} ms",
        "User {user} logged in from {ip}",
        "Order {num} placed by {user} total {cents} cents",
        "Cache refreshed for {service} in {dur} ms",
        "Connection accepted from {ip}",
    ),
    "DEBUG": (
        "Query on {table} took {dur} ms rows={num}",
        "Cache hit for key {table}:{num}",
        "Retry budget for {service} is {num}",
        "Span {trace} finished after {dur} ms",
    ),
    "WARN": (
        "Slow request {method} {path}/{num} took {dur} ms",
        "Retrying call to {service} attempt {small} of 5",
        "Rate limit near for {ip} ({num} requests)",
    ),
    "ERROR": (
        "Timeout calling {service} after {dur} ms",
        "Payment declined for {user} code {status}",
        "Failed to write {table} row {num}: connection reset by peer",
        "Unhandled exception in {service}: NullPointerException at line {small}",
    ),
}


def iter_events(
    count: int,
    *,
    seed: int = 0,
    start_ms: int = DEFAULT_START_MS,
    span_ms: int = DEFAULT_SPAN_MS,
) -> Iterator[str]:
    """
    Generates synthetic JSON log events.

    :param count: How many events.
    :param seed: Seed of the pseudo-random generator; the same seed gives the same lines.
    :param start_ms: Timestamp of the first event (epoch ms).
    :param span_ms: Time the events spread over; timestamps never decrease.
    :return: An iterator of JSON object lines, each ending with ``\\n``.
    :raise ValueError: If ``count`` or ``span_ms`` is negative.
    """
    if count < 0 or span_ms < 0:
        msg = "count and span_ms must not be negative"
        raise ValueError(msg)
    rng = random.Random(seed)
    rnd = rng.random
    # A shuffled table of ~1,024 levels in the exact proportions keeps the per-event work to
    # one index and the shares on target even for small counts.
    level_table = [
        level for level, weight in LEVEL_WEIGHTS.items() for _ in range(round(weight * 1024))
    ]
    rng.shuffle(level_table)
    n_levels = len(level_table)
    ips = [
        f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}" for _ in range(4096)
    ]
    users = [f"u-{rng.randrange(100_000)}" for _ in range(8192)]
    hosts = {s: [f"{s}-{i}" for i in range(4)] for s in _SERVICES}
    templates = _TEMPLATES
    step = span_ms / count if count else 0.0
    second_cache_key = -1
    second_prefix = ""
    for i in range(count):
        ts = start_ms + int(i * step)
        second = ts // 1000
        if second != second_cache_key:
            second_cache_key = second
            second_prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        level = level_table[int(rnd() * n_levels)]
        service = _SERVICES[int(rnd() * 7)]
        host = hosts[service][int(rnd() * 4)]
        ip = ips[int(rnd() * 4096)]
        user = users[int(rnd() * 8192)]
        dur = int(rnd() * rnd() * 2000) + 1
        num = int(rnd() * 100_000)
        status = 200 if level in ("INFO", "DEBUG") else (429, 500, 502, 503, 504)[int(rnd() * 5)]
        trace = f"{int(rnd() * 0xFFFFFFFFFFF):011x}{i & 0xFFFFF:05x}"
        tmpls = templates[level]
        message = tmpls[int(rnd() * len(tmpls))].format(
            method=_METHODS[int(rnd() * 6)],
            path=_PATHS[int(rnd() * 5)],
            num=num,
            dur=dur,
            user=user,
            ip=ip,
            cents=num * 7 % 100_000,
            service=service,
            table=_TABLES[int(rnd() * 5)],
            trace=trace,
            small=int(rnd() * 5) + 1,
            status=status,
        )
        yield (
            f'{{"timestamp":"{second_prefix}.{ts % 1000:03d}Z","level":"{level}",'
            f'"service":"{service}","host":"{host}","trace_id":"{trace}",'
            f'"client_ip":"{ip}","user_id":"{user}","duration_ms":{dur},'
            f'"status":{status},"message":"{message}"}}\n'
        )


def write_events(
    path: str | Path,
    count: int,
    *,
    seed: int = 0,
    start_ms: int = DEFAULT_START_MS,
    span_ms: int = DEFAULT_SPAN_MS,
) -> int:
    """
    Writes synthetic events to a JSON-lines file (replacing it).

    :param path: Output file.
    :param count: How many events.
    :param seed: Seed, see :func:`iter_events`.
    :param start_ms: Timestamp of the first event (epoch ms).
    :param span_ms: Time the events spread over.
    :return: Bytes written.
    :raise OSError: If the file cannot be written.
    :raise ValueError: If ``count`` or ``span_ms`` is negative.
    """
    written = 0
    batch: list[str] = []
    with Path(path).open("w", encoding="utf-8", newline="") as out:
        for line in iter_events(count, seed=seed, start_ms=start_ms, span_ms=span_ms):
            batch.append(line)
            if len(batch) >= 4096:
                chunk = "".join(batch)
                out.write(chunk)
                written += len(chunk)
                batch = []
        chunk = "".join(batch)
        out.write(chunk)
        written += len(chunk)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """
    Command line: ``python -m logpager.synthetic N OUT.jsonl``.

    :param argv: Arguments (default: ``sys.argv[1:]``).
    :return: Exit status.
    """
    parser = argparse.ArgumentParser(
        prog="python -m logpager.synthetic", description="Write synthetic JSON-lines logs."
    )
    parser.add_argument("count", type=int, help="number of events")
    parser.add_argument("out", type=Path, help="output .jsonl file")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--start", default=None, help="first timestamp, ISO 8601 UTC (default 2024-05-01)"
    )
    parser.add_argument(
        "--span-hours", type=float, default=24.0, help="hours the events span (default 24)"
    )
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("count must not be negative")
    try:
        start_ms = parse_iso8601_ms(args.start) if args.start else DEFAULT_START_MS
    except InvalidTimestampError as exc:
        parser.error(str(exc))
    began = time.perf_counter()
    size = write_events(
        args.out,
        args.count,
        seed=args.seed,
        start_ms=start_ms,
        span_ms=int(args.span_hours * 3600 * 1000),
    )
    elapsed = time.perf_counter() - began
    print(
        f"wrote {args.count:,} events ({size / 1e6:.1f} MB) to {args.out} in {elapsed:.1f} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
