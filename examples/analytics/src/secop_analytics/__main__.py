"""Entry point (filled in by the example's implementation)."""


def main() -> int:
    raise SystemExit("not built yet")
