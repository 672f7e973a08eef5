"""``python -m portal``: run the web portal."""

from secop_runtime.serve import main

from portal.app import create_app
from portal.config import Settings

if __name__ == "__main__":
    raise SystemExit(main("portal", Settings, create_app))
