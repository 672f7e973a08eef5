"""FastAPI dependencies shared by the routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from secop_runtime.service import context_of

from membership.service_layer.context import Context


def context(request: Request) -> Context:
    return context_of(request)


Ctx = Annotated[Context, Depends(context)]
