"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from membership.service_layer.common import Uow


def _uow(request: Request) -> Uow:
    return Uow.of(request.app.state.runtime)


UowDep = Annotated[Uow, Depends(_uow)]
