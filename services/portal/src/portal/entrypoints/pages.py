"""Every page of the portal, by area."""

from __future__ import annotations

from fastapi import APIRouter

from portal.entrypoints import cases, home, users

#: Routes that take a document (the only large bodies), as ``RequestContextMiddleware`` patterns.
UPLOAD_ROUTES: tuple[str, ...] = ()

router = APIRouter()
router.include_router(home.router)
router.include_router(cases.router)
router.include_router(users.router)
