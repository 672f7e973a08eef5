"""``python -m projector``: run the analytics projector."""

from secop_runtime.serve import main

from projector.app import create_app
from projector.config import Settings

if __name__ == "__main__":
    raise SystemExit(main("projector", Settings, create_app))
