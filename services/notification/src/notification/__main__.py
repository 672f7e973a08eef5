"""``python -m notification``: run the notification service (or an operator command)."""

from secop_runtime.serve import main

from notification.app import create_app
from notification.config import Settings

if __name__ == "__main__":
    raise SystemExit(main("notification", Settings, create_app))
