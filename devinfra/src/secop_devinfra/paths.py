"""Where the project keeps what it installs and the data its local processes write."""

from __future__ import annotations

import os
from pathlib import Path

RECIPES = Path(__file__).parent / "recipes"


def repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "uv.lock").exists() and (parent / "services").is_dir():
            return parent
    return Path.cwd()


def local_dir() -> Path:
    """``SECOP_LOCAL_DIR`` or ``<repo>/.local``: installs (cached) and data."""
    path = Path(os.environ.get("SECOP_LOCAL_DIR") or repo_root() / ".local")
    path.mkdir(parents=True, exist_ok=True)
    return path
