"""Prometheus metrics shared by every service (one registry per process)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_PUBLISHED = Counter(
    "secop_events_published_total", "Events published by the outbox relay", ["topic"]
)
EVENTS_CONSUMED = Counter(
    "secop_events_consumed_total",
    "Events handled by subscribers, by outcome (applied, duplicate, dead_lettered)",
    ["topic", "outcome"],
)
HANDLER_RETRIES = Counter(
    "secop_handler_retries_total", "Handler attempts that failed and were retried", ["topic"]
)
HANDLER_SECONDS = Histogram("secop_handler_seconds", "Time to handle one event", ["topic"])
HTTP_REQUESTS = Counter("secop_http_requests_total", "HTTP requests", ["method", "route", "status"])
HTTP_SECONDS = Histogram("secop_http_request_seconds", "HTTP request latency", ["method", "route"])
CONSUMER_LAG = Gauge(
    "secop_consumer_lag",
    "Records behind the partition's end after the consumer group's last commit (per batch)",
    ["topic", "partition"],
)
READY = Gauge("secop_ready", "1 when the database and Kafka answer")
DB_SECONDS = Histogram(
    "secop_db_command_seconds",
    "Database command latency by collection, command and outcome",
    ["collection", "command", "outcome"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
