"""``python -m membership``: run the membership service (or an operator command)."""

from secop_runtime.serve import main

from membership.app import create_app
from membership.config import Settings

if __name__ == "__main__":
    raise SystemExit(main("membership", Settings, create_app))
