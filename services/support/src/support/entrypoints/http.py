"""HTTP routes of the support service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
