"""Membership's own refusal kind; every other one is runtime's (``secop_runtime.errors``)."""

from __future__ import annotations

from secop_runtime.errors import Conflict


class TooManyDrafts(Conflict):
    """A user holds as many drafts as they may; each draft holds a NIT."""

    error_type = "too_many_drafts"
