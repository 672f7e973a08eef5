"""Who may write and read each topic: the broker's ACLs, derived from the contracts alone.

Each event type has one owner (the service whose module defines it, ``OWNER_BY_TYPE``); each
service declares here the event types it consumes. From these two facts come every grant the
broker needs (``grants()``), the README's trust table, and the consumers' ``producer`` check.
A test compares ``SUBSCRIPTIONS`` with what each service really subscribes to, so the two
cannot drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from secop_contracts.registry import OWNER_BY_TYPE

SERVICES: tuple[str, ...] = ("registration", "membership", "support", "notification")
#: The read-only principal analytics teams use (pseudonymised topics only, never raw ones).
ANALYTICS = "analytics"
#: Creates topics and ACLs (provisioning); the broker's super user. No service runs as it.
ADMIN = "admin"
DEAD_LETTER_SUFFIX = ".DLT"

#: The event types each service consumes (its one consumer group reads them all).
SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "registration": ("CredentialsResendRequested",),
    "membership": (
        "UserRegistered",
        "UserConfirmed",
        "UserProfileUpdated",
        "AccountActivationDecided",
        "MixedProfileDecided",
        "UserSignedOut",
        "UserSessionsRevoked",
    ),
    "support": ("EntitySubmitted", "UserSignedOut", "UserSessionsRevoked"),
    "notification": (
        "UserRegistered",
        "ConfirmationRequested",
        "PasswordResetRequested",
        "PasswordChanged",
        "UsernameRecoveryRequested",
        "AccessRequested",
        "AccessDecided",
        "EntitySubmitted",
        "AccountActivated",
        "AccountChangesRequested",
        "AccountRejected",
        "CaseOpened",
        "CaseMessageAdded",
        "CaseResolved",
    ),
}

Operation = Literal["WRITE", "READ", "DESCRIBE", "IDEMPOTENT_WRITE"]
Resource = Literal["TOPIC", "GROUP", "BROKER"]
#: The name Kafka gives its one cluster resource (idempotent producers need a grant on it).
CLUSTER = "kafka-cluster"
Pattern = Literal["LITERAL", "PREFIXED"]


@dataclass(frozen=True, order=True)
class Grant:
    """One ALLOW ACL: ``User:<principal>`` may ``operation`` on the resource ``name`` (the
    exact name, or every name starting with it when ``pattern`` is ``PREFIXED``)."""

    principal: str
    resource: Resource
    name: str
    operation: Operation
    pattern: Pattern = "LITERAL"


def owned_topics(service: str, prefix: str = "") -> list[str]:
    return sorted(f"{prefix}{t}" for t, owner in OWNER_BY_TYPE.items() if owner == service)


def consumed_topics(service: str, prefix: str = "") -> list[str]:
    return sorted(f"{prefix}{t}" for t in SUBSCRIPTIONS.get(service, ()))


def consumer_group(service: str, prefix: str = "") -> str:
    """The group a service consumes with (``ServiceSettings.consumer_group`` is the same)."""
    return f"{prefix}{service}"


def all_topics(prefix: str = "") -> list[str]:
    """Every event topic and its dead-letter topic: what provisioning creates."""
    topics = [f"{prefix}{t}" for t in OWNER_BY_TYPE]
    return sorted(topics + [t + DEAD_LETTER_SUFFIX for t in topics])


def grants(prefix: str = "", analytics_topics: tuple[str, ...] = ()) -> list[Grant]:
    """Every ACL of the cluster for topics named with ``prefix``.

    A service WRITEs the topics it owns and the dead-letter topics of those it consumes (where
    its consumer parks what it cannot apply); it READs the topics it consumes and its group,
    and DESCRIBEs every topic it touches (metadata); its idempotent producer needs
    IDEMPOTENT_WRITE on the cluster. ``analytics`` READs only
    ``analytics_topics`` (the pseudonymised copies) with any group named ``analytics*``, and
    writes nothing.
    """
    found: set[Grant] = set()
    for service in SERVICES:
        writes = owned_topics(service, prefix)
        writes += [t + DEAD_LETTER_SUFFIX for t in consumed_topics(service, prefix)]
        reads = consumed_topics(service, prefix)
        for topic in writes:
            found |= {Grant(service, "TOPIC", topic, "WRITE")}
        for topic in reads:
            found |= {Grant(service, "TOPIC", topic, "READ")}
        for topic in writes + reads:
            found |= {Grant(service, "TOPIC", topic, "DESCRIBE")}
        if reads:
            found.add(Grant(service, "GROUP", consumer_group(service, prefix), "READ"))
        # Every producer of ours is idempotent (acks=all, no duplicates on retry).
        found.add(Grant(service, "BROKER", CLUSTER, "IDEMPOTENT_WRITE"))
    for topic in analytics_topics:
        found |= {Grant(ANALYTICS, "TOPIC", topic, op) for op in ("READ", "DESCRIBE")}
    if analytics_topics:
        found.add(Grant(ANALYTICS, "GROUP", f"{prefix}{ANALYTICS}", "READ", "PREFIXED"))
    return sorted(found)
