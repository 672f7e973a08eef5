"""HTTP routes of the registration service (one router per area)."""

from __future__ import annotations

from registration.entrypoints import http_recovery, http_sessions, http_users, pages

routers = [http_users.router, http_sessions.router, http_recovery.router, pages.router]
