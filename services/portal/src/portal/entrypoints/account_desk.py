"""The account's desk ("Escritorio": its status, open support cases, pending requests and
invitations) and each member's "Suscripción a notificaciones"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from portal.adapters.backend import ApiError
from portal.entrypoints.account_common import membership, refusal, seg, signed_in
from portal.entrypoints.web import checked_form, redirect, render, require_user
from portal.service_layer import account_forms as af
from portal.service_layer import account_names as names

router = APIRouter()


def render_desk(request: Request, desk: dict[str, Any], account: dict[str, Any]) -> HTMLResponse:
    """What the desk shows a member (the form's data and documents too, read only)."""
    return render(
        request,
        "accounts/desk.html",
        title=f"Escritorio de {desk['account']['legal_name']}",
        desk=desk,
        account=account,
        documents=[d for d in af.documents_for(account) if d["stored"]],
        af=af,
        names=names,
    )


@router.get("/cuentas/{account_id}/notificaciones", response_class=HTMLResponse)
async def notices_page(request: Request, account_id: str) -> HTMLResponse:
    require_user(request)
    return await _notices(request, account_id)


async def _notices(
    request: Request, account_id: str, errors: dict[str, str] | None = None, status: int = 200
) -> HTMLResponse:
    path = f"/accounts/{seg(account_id)}"
    desk = await membership(request, "GET", f"{path}/desk")
    notices = await membership(request, "GET", f"{path}/notices")
    return render(
        request,
        "accounts/notices.html",
        status_code=status,
        title="Suscripción a notificaciones",
        account=desk["account"],
        notices=notices,
        errors=errors or {},
        af=af,
        names=names,
    )


@router.post("/cuentas/{account_id}/notificaciones", response_class=HTMLResponse)
async def choose_notices(request: Request, account_id: str) -> Response:
    """Every notice the member ticks (the others stop)."""
    back = f"/cuentas/{seg(account_id)}/notificaciones"
    signed_in(request, back)
    form = await checked_form(request)
    chosen = [n for n in form.getlist("notices") if isinstance(n, str) and n in names.NOTICE_NAMES]
    try:
        await membership(
            request, "PUT", f"/accounts/{seg(account_id)}/notices", json={"notices": chosen}
        )
    except ApiError as error:
        if error.status not in (409, 422):
            raise
        message = refusal(
            error,
            {
                409: "Otro administrador debe recibir las solicitudes de acceso antes de que usted "
                "deje de recibirlas: siempre las recibe al menos un administrador.",
                422: "Solo los administradores pueden recibir los avisos de solicitudes de acceso.",
            },
        )
        return await _notices(request, account_id, {"notices": message}, error.status)
    return redirect(back, "Sus preferencias de notificación quedaron guardadas.", request)
