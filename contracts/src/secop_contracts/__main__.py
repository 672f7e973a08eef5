"""``python -m secop_contracts write|check|trust``: maintain the committed JSON Schema files and
AsyncAPI documents (``check`` reports a breaking change or drift); print the trust table (who
may write and read each topic) the README shows."""

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
    if command == "trust":
        from secop_contracts.access import trust_table

        print(trust_table())
        return 0
    print("usage: python -m secop_contracts write|check|trust", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
