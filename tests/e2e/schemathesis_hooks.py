"""Our own schemathesis checks (``SCHEMATHESIS_HOOKS=tests.e2e.schemathesis_hooks``)."""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.check
def error_explains_itself(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx carries a JSON body whose ``detail`` says what is wrong."""
    if 400 <= response.status_code < 500 and case.method.upper() != "HEAD":
        try:
            body = response.json()
        except Exception as exc:
            raise AssertionError(f"{response.status_code} without a JSON body") from exc
        if not (isinstance(body, dict) and body.get("detail")):
            raise AssertionError(f"{response.status_code} explains nothing: {body!r:.200}")
    return None
