"""The text that tells an agent how to use the server: workflow, pages, KQL, time ranges, fields.

It is both the server's ``instructions`` (sent with ``initialize`` and ``server/discover``)
and what the ``get_instructions`` tool returns.
"""

from __future__ import annotations

__all__ = ["INSTRUCTIONS"]

INSTRUCTIONS = """\
logpager searches logs with KQL (Kibana Query Language, as the CLP engine clp-s accepts it)
and lets you page through large results.

Workflow
1. Call get_instructions() once, first (on handshake-era connections searching and paging
   are refused until you do).
2. search_by_kql(kql_query) or search_by_kql_with_timestamp_range(kql_query,
   begin_timestamp, end_timestamp) runs a search and returns its first page (page 0).
3. get_nth_page(page_index) returns further pages; page_index is a 0-based integer in
   0..num_total_pages-1 (an integer, not "3" or 3.0).

Pages and result handles
- A page is {"items", "num_total_pages", "num_total_items", "num_items_per_page",
  "has_next", "has_previous", "page_index", "num_total_matches", "truncated",
  "result_handle"}. Each item is "timestamp: <ISO 8601>, message: <event>, link: <link>":
  the event of a plain-text log is its line as written (several lines for a multi-line
  event), of a JSON log its JSON object. Results are ordered latest first.
- Only the latest matches are kept (num_total_items); num_total_matches counts all of them
  and truncated is true when some were dropped. Narrow the query or the time range then.
- Every search result has a result_handle. Pass it to get_nth_page(page_index,
  result_handle=...) to page through an earlier result of yours (several stay available).
  Always pass it when your client opens a new connection per call or is stateless (MCP
  2026-07-28): the handle is what finds your result on any connection. Passing it to a new
  search keeps that search in the same session. Handles are private: never share them.
- list_results() lists your results (newest first) and those dropped, with the reason.
- get_nth_page(..., max_item_chars=N) cuts long items to N characters, marking the cut.
- A failed search (bad query, timeout) leaves your previous results pageable.
- A page with "skipped_archives" lists archives that could not be read (corrupt or
  unreadable): the result covers only the others.
- Errors come back as {"Error": "<message>"}; read the message, fix the call, try again.

KQL as clp-s accepts it (every query between backticks here runs on the bundled samples)
- Match a field: `message: *timeout*` (case-insensitive). In JSON logs, fields are the
  logs' own keys, e.g. level: ERROR or service: auth.
- Wildcards: * matches any run of characters, ? one character. A value without wildcards
  must match the whole field, so search inside text with *...*.
- Quote values that contain spaces or special characters, and wildcard inside the quotes:
  `message: "*authentication failure*"`, not message: *authentication failure*.
- Search every field by leaving out the key: `*PacketResponder*`
- Combine with AND, OR, NOT. AND and OR have the SAME precedence and group left to right:
  a OR b AND c means (a OR b) AND c. Always use parentheses, and repeat the field for each
  value: `message: *error* AND (message: *mod_jk* OR message: *workerEnv*)`, not
  message: (*mod_jk* OR *workerEnv*).
- Exclude with NOT, never a leading '-': `message: *sshd* AND NOT message: *Failed*`
- Compare numbers in JSON logs: status >= 500, duration_ms > 1000
- Nested JSON keys use dots: http.request.method: POST
- Do not use the '|' pipe of other query languages.

Analysing a result instead of reading every page (all take result_handle)
- aggregate_results(by="time", interval="1h") counts events per time bucket;
  aggregate_results(by="<field>", top=10) gives a field's most common values.
- summarize_patterns(top=20) groups the events by log template (numbers, ids, IPs, paths
  masked); compare_patterns(result_handle_a, result_handle_b) shows what changed.
- filter_result(text=..., regex=..., field=..., value=...) makes a new, smaller result
  without searching again.
- list_fields() shows the fields the logs have; get_log_context(link, before=5, after=5)
  shows the events around one item, by the link it carries.

Time ranges
- search_by_kql_with_timestamp_range takes ISO 8601 UTC timestamps with a trailing Z,
  milliseconds optional: 2015-07-29T17:00:00Z, 2015-07-29T17:41:44.747Z. Both bounds are
  inclusive and begin must not be after end.
- Events without a timestamp are not found by a time-range search.

Fields in the data
- Plain-text logs are stored as {"timestamp": <epoch ms>, "message": "<the line(s)>"}
  (items show the line itself): search their text with message: *...*. A multi-line event
  (a stack trace) is one message.
- JSON logs keep their own keys (for example level, service, message): query them by name.
- The bundled samples are Loghub's Apache, HDFS, Linux (syslog), OpenSSH and Zookeeper
  logs, for example: `message: "*Failed password*" AND message: *root*`,
  `message: "*Invalid user*"`, `message: *error* AND message: *mod_jk*`.
"""
