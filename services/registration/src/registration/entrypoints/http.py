"""HTTP routes of the registration service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
