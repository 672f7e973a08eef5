"""Our own schemathesis checks (``SCHEMATHESIS_HOOKS=tests.e2e.schemathesis_hooks``)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import schemathesis

#: Where the values each request submitted are written (``SECOP_FUZZ_RECORD``), for the test
#: that then looks for them in every service log and dead-letter header.
RECORD = os.environ.get("SECOP_FUZZ_RECORD")
#: Identifiers may be logged (an account id, a case number): not what the fuzzer typed.
NOT_INPUT = re.compile(r"[0-9a-fA-F-]{32,36}|CCE-\d{4}-\d{6}|\d+")


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


def _record(case: Any) -> None:
    """Note the submitted text long and odd enough to be found again unambiguously."""
    if not RECORD:
        return
    found = {
        v
        for part in (case.body, case.query)
        for v in _strings(part)
        if len(v.strip()) >= 12 and any(c.isalpha() for c in v) and not NOT_INPUT.fullmatch(v)
    }
    if found:
        with open(RECORD, "a", encoding="utf-8") as out:
            out.writelines(json.dumps(v) + "\n" for v in sorted(found))


@schemathesis.check
def error_explains_itself(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx carries a JSON body whose ``detail`` says what is wrong."""
    _record(case)
    if 400 <= response.status_code < 500 and case.method.upper() != "HEAD":
        try:
            body = response.json()
        except Exception as exc:
            raise AssertionError(f"{response.status_code} without a JSON body") from exc
        if not (isinstance(body, dict) and body.get("detail")):
            raise AssertionError(f"{response.status_code} explains nothing: {body!r:.200}")
    return None
