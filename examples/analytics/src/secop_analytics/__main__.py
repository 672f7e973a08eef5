"""``secop-analytics load`` and ``secop-analytics report`` (``python -m secop_analytics``)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from types import FrameType

import duckdb
from confluent_kafka import KafkaException
from pydantic import ValidationError

from secop_analytics import report
from secop_analytics.load import load
from secop_analytics.settings import Settings
from secop_analytics.store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secop-analytics",
        description="Read the SECOP accounts' pseudonymised events into DuckDB and report on "
        "them. Connection settings come from KAFKA_* variables (see the README).",
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database",
        type=Path,
        help="the DuckDB file (ANALYTICS_DATABASE; default secop-analytics.duckdb)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    loading = commands.add_parser(
        "load", parents=[common], help="consume every analytics.* topic into DuckDB"
    )
    loading.add_argument("--bootstrap-servers", help="KAFKA_BOOTSTRAP_SERVERS")
    loading.add_argument("--ca-file", help="KAFKA_CA_FILE: the broker's CA certificate (PEM)")
    loading.add_argument(
        "--group-id", help="ANALYTICS_GROUP_ID (default <prefix>analytics-example)"
    )
    loading.add_argument("--topic-prefix", help="KAFKA_TOPIC_PREFIX (default none)")
    loading.add_argument(
        "--until-idle",
        type=float,
        metavar="SECONDS",
        help="stop once nothing arrived for this long (else run until Ctrl-C)",
    )
    reporting = commands.add_parser("report", parents=[common], help="print the report")
    reporting.add_argument("--json", action="store_true", help="JSON instead of text tables")
    reporting.add_argument(
        "--time-zone", default=report.DEFAULT_TIME_ZONE, help="the zone days fall in"
    )
    return parser


def _load(args: argparse.Namespace) -> int:
    try:
        settings = Settings.from_env(
            os.environ,
            bootstrap_servers=args.bootstrap_servers,
            ca_file=args.ca_file,
            group_id=args.group_id,
            topic_prefix=args.topic_prefix,
            database=args.database,
        )
    except ValidationError as exc:  # pydantic's own text would repeat the values, password too
        problems = (
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        print("secop-analytics: bad settings: " + "; ".join(problems), file=sys.stderr)
        return 2
    stopping = False

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True  # the batch in hand is finished and committed first

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        added = load(settings, args.until_idle, stop=lambda: stopping)
    except (KafkaException, TimeoutError) as exc:
        print(f"secop-analytics: {exc}", file=sys.stderr)
        return 1
    print(
        f"read {added.read} records: {added.stored} new events, {added.duplicates} already "
        f"stored, {added.rejected} rejected -> {settings.database}",
        file=sys.stderr,
    )
    return 0


def _report(args: argparse.Namespace) -> int:
    path = args.database or Path(os.environ.get("ANALYTICS_DATABASE", "secop-analytics.duckdb"))
    try:
        store = Store.open(path, read_only=True)
    except FileNotFoundError as exc:
        print(f"secop-analytics: {exc}", file=sys.stderr)
        return 1
    except duckdb.IOException as exc:  # DuckDB: one writer, or many readers
        print(f"secop-analytics: {path} is in use (is load running?): {exc}", file=sys.stderr)
        return 1
    try:
        built = report.build(store, args.time_zone)
    finally:
        store.close()
    print(report.as_json(built) if args.json else report.as_text(built))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    return _load(args) if args.command == "load" else _report(args)


if __name__ == "__main__":
    raise SystemExit(main())
