"""Every page of the portal, by area."""

from __future__ import annotations

from fastapi import APIRouter

from portal.entrypoints import accounts, cases, home, users

#: Routes that take a document (the only large bodies), as ``RequestContextMiddleware`` patterns.
UPLOAD_ROUTES: tuple[str, ...] = (
    r"/cuentas/[^/]+/documentos/[^/]+",  # accounts: a registration document
    r"/cuentas/[^/]+/biblioteca/agregar",  # accounts: a new library document
    r"/cuentas/[^/]+/biblioteca/[^/]+/version",  # accounts: a library document's new version
)

router = APIRouter()
router.include_router(home.router)
router.include_router(cases.router)
router.include_router(users.router)
router.include_router(accounts.router)
