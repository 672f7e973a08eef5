"""What the account pages share: calling membership for the signed-in person, passing a
document download through, and saying membership's refusals in Spanish."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import Response

from portal.adapters.backend import ApiError
from portal.entrypoints.web import (
    SignInNeeded,
    caller,
    message_for,
    pass_download,
    remember_device,
    session,
    web,
)


def seg(value: str) -> str:
    """One path segment of a membership URL, whatever the page's path held (an id with ``?``
    or ``/`` encoded in it stays one segment and names nothing). Dots are encoded too: httpx
    resolves a ``.`` or ``..`` segment, so ``/accounts/A/invitations/..`` would be
    ``/accounts/A`` (no id of membership holds a dot)."""
    return quote(value, safe="").replace(".", "%2E")


def signed_in(request: Request, back: str) -> None:
    """A form posted by someone signed out (their session ended meanwhile): to log in, then
    back to the page the form was on (a POST's own path cannot be shown again)."""
    if not session(request).signed_in:
        raise SignInNeeded(back)


async def membership(request: Request, method: str, path: str, **kwargs: Any) -> Any:
    """Membership's JSON answer for the person (``ApiError`` on a refusal)."""
    who = caller(request)
    try:
        return await web(request).backend.call("membership", method, path, who, **kwargs)
    finally:
        remember_device(request, who)


async def download(request: Request, path: str) -> Response:
    """One of membership's stored documents, streamed through (``web.pass_download``)."""
    return await pass_download(request, "membership", path)


def refusal(error: ApiError, sentences: dict[int, str] | None = None) -> str:
    """A sentence a person understands for a refusal: the page's own for its status, else the
    portal's general one."""
    if error.status == 429:
        wait = f" (unos {error.retry_after} segundos)" if error.retry_after else ""
        return (sentences or {}).get(
            429
        ) or f"Demasiados intentos. Espere{wait} y vuelva a intentarlo."
    return (sentences or {}).get(error.status) or message_for(error)


FILE_REFUSED = {
    413: "El archivo es demasiado grande: el máximo es de 20 MB.",
    404: "Esta cuenta no lleva este documento.",
    409: "La cuenta ya no es un borrador: sus documentos no cambian.",
}


def file_refusal(error: ApiError) -> str:
    """Why membership refused a file, in Spanish (its 415 says which rule)."""
    if error.status == 415:
        text = error.message or ""
        if "blocked" in text or "not accepted" in text:
            return (
                "Este tipo de archivo no se acepta. Anexe PDF (preferido), JPG, PNG, TIFF, DOC, "
                "DOCX, XLS, XLSX, ODS o ZIP."
            )
        if "no extension" in text:
            return "El nombre del archivo no tiene extensión: anexe un PDF."
        return (
            "El contenido del archivo no corresponde a su extensión (por ejemplo, un «.pdf» que "
            "no es PDF)."
        )
    if error.status == 422:
        return "Elija el archivo que va a anexar."
    return refusal(error, FILE_REFUSED)
