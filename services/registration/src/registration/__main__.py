"""``python -m registration``: run the registration service (or an operator command)."""

from secop_runtime.serve import main

from registration.app import create_app
from registration.config import Settings
from registration.entrypoints.commands import COMMANDS

if __name__ == "__main__":
    raise SystemExit(main("registration", Settings, create_app, commands=COMMANDS))
