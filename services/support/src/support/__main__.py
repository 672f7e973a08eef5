"""``python -m support``: run the support service (or an operator command)."""

from secop_runtime.serve import main

from support.app import create_app
from support.config import Settings

if __name__ == "__main__":
    raise SystemExit(main("support", Settings, create_app))
