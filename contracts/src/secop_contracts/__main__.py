"""``python -m secop_contracts write|check``: maintain the committed JSON Schema files."""

from __future__ import annotations

import sys

from secop_contracts.compat import check_all, write_all


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "write":
        refused = write_all()
        for line in refused:
            print(f"refused (breaking): {line}", file=sys.stderr)
        return 1 if refused else 0
    if command == "check":
        report = check_all()
        for name, problems in report.items():
            for problem in problems:
                print(f"{name}: {problem}", file=sys.stderr)
        return 1 if report else 0
    print("usage: python -m secop_contracts write|check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
