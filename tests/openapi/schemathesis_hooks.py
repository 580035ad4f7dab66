"""schemathesis hooks of scripts/openapi-check (loaded through SCHEMATHESIS_HOOKS)."""

import re

import schemathesis


@schemathesis.hook
def before_call(context, case, **kwargs):
    """A long poll on a live session holds its request for all of `?wait=` (up to 60 seconds,
    longer than the run's request timeout): once the document's examples create real sessions,
    schemathesis reuses their ids. An accepted `wait` above 1 is sent as 1 (the same answer,
    sooner); a value kassa refuses (above 60, negative, not a number) is sent as generated."""
    query = case.query
    if not query or "wait" not in query:
        return
    value = query["wait"]
    if isinstance(value, bool):
        return
    if isinstance(value, int) and 1 < value <= 60:
        query["wait"] = 1
    elif isinstance(value, str) and re.fullmatch(r"[0-9]+", value) and 1 < int(value) <= 60:
        query["wait"] = "1"
