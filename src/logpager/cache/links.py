"""Links to events, pre-rendered per archive so that a page writes each one in one f-string."""

from __future__ import annotations

from collections.abc import Sequence

from logpager.cache.codec.decoded import Link

__all__ = ["link_parts", "split_link"]


def split_link(template: str, archive_id: str) -> tuple[str, str]:
    """
    Pre-renders a link template for one archive: the text before and after the event index.

    :param template: A template with ``{archive_id}`` and one ``{log_event_index}``.
    :param archive_id: The archive.
    :return: ``(before, after)`` so that a link is ``before + str(index) + after``.
    :raise ValueError: If the template does not hold exactly one ``{log_event_index}``.
    """
    marker = "\x00"
    rendered = template.format(archive_id=archive_id, log_event_index=marker)
    if rendered.count(marker) != 1:
        msg = f"link template must contain exactly one {{log_event_index}}: {template!r}"
        raise ValueError(msg)
    before, after = rendered.split(marker)
    return before, after


def link_parts(template: str, archive_names: Sequence[str]) -> list[Link]:
    """
    Pre-renders a link template for each archive a result's rows come from.

    :param template: A template with ``{archive_id}`` and one ``{log_event_index}``.
    :param archive_names: The result's archive names, indexed by the chunks' archive codes.
    :return: Each archive code's link pieces; one ``None`` when there is no archive.
    :raise ValueError: If the template does not hold exactly one ``{log_event_index}``.
    """
    # None where a row's link is N/A: an archive without a name (or no archive at all).
    parts = [split_link(template, name) for name in archive_names]
    return [
        part if name else None for part, name in zip(parts, archive_names, strict=True)
    ] or [None]
