"""HTTP routes of the notification service."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
