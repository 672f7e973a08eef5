"""Who may write and read each topic: the broker's ACLs, derived from the contracts alone.

Each event type has one owner (the service whose module defines it, ``OWNER_BY_TYPE``); each
service declares here the event types it consumes. From these two facts come every grant the
broker needs (``grants()``), the README's trust table, and the consumers' ``producer`` check.
A test compares ``SUBSCRIPTIONS`` with what each service really subscribes to, so the two
cannot drift.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from secop_contracts.registry import OWNER_BY_TYPE

SERVICES: tuple[str, ...] = ("registration", "membership", "support", "notification")
#: The read-only principal analytics teams use (pseudonymised topics only, never raw ones).
ANALYTICS = "analytics"
#: Reads every event topic, writes its pseudonymised copy (``secop_contracts.analytics``).
PROJECTOR = "projector"
#: Every principal with grants (the admin is a super user and needs none).
PRINCIPALS: tuple[str, ...] = (*SERVICES, PROJECTOR, ANALYTICS)
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
        "CaseOpened",
        "CaseAssigned",
        "EntitySubmissionLinked",
        "CaseMessageAdded",
        "CaseResolved",
        "CaseReopened",
    ),
    "support": ("EntitySubmitted", "UserSignedOut", "UserSessionsRevoked"),
    "notification": (
        "UserRegistered",
        "SignUpAttempted",
        "ConfirmationRequested",
        "PasswordResetRequested",
        "PasswordChanged",
        "UsernameRecoveryRequested",
        "AccountChangeNotice",
        "AccessRequested",
        "AccessDecided",
        "MemberInvited",
        "InvitationRevoked",
        "LibraryDocumentChanged",
        "AccountCaseUpdated",
        "EntitySubmitted",
        "AccountActivated",
        "AccountChangesRequested",
        "AccountRejected",
        "CaseOpened",
        "CaseMessageAdded",
        "CaseResolved",
    ),
}

Operation = Literal["WRITE", "READ", "DESCRIBE", "CREATE", "IDEMPOTENT_WRITE"]
Resource = Literal["TOPIC", "GROUP", "BROKER", "TRANSACTIONAL_ID"]
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
    if service == PROJECTOR:
        return sorted(f"{prefix}{t}" for t in OWNER_BY_TYPE)
    return sorted(f"{prefix}{t}" for t in SUBSCRIPTIONS.get(service, ()))


def analytics_topics(prefix: str = "") -> list[str]:
    """The pseudonymised copies, ``<prefix>analytics.<Event>``."""
    from secop_contracts.analytics import analytics_topic

    return sorted(analytics_topic(t, prefix) for t in OWNER_BY_TYPE)


def consumer_group(service: str, prefix: str = "") -> str:
    """The group a service consumes with (``ServiceSettings.consumer_group`` is the same)."""
    return f"{prefix}{service}"


def all_topics(prefix: str = "") -> list[str]:
    """Every event topic, its copy, and their dead-letter topics: what provisioning creates."""
    topics = [f"{prefix}{t}" for t in OWNER_BY_TYPE] + analytics_topics(prefix)
    return sorted(topics + [t + DEAD_LETTER_SUFFIX for t in topics])


def _writes(principal: str, prefix: str) -> list[str]:
    if principal == PROJECTOR:  # the copies, and its own dead letters beside them
        copies = analytics_topics(prefix)
        return copies + [t + DEAD_LETTER_SUFFIX for t in copies]
    if principal == ANALYTICS:
        return []
    owned = owned_topics(principal, prefix)
    return owned + [t + DEAD_LETTER_SUFFIX for t in consumed_topics(principal, prefix)]


def _reads(principal: str, prefix: str) -> list[str]:
    return (
        analytics_topics(prefix) if principal == ANALYTICS else consumed_topics(principal, prefix)
    )


def grants(
    prefix: str = "", principals: Iterable[str] = PRINCIPALS, create: bool = False
) -> list[Grant]:
    """Every ACL of the cluster for topics named with ``prefix``.

    A service WRITEs the topics it owns and the dead-letter topics of those it consumes (where
    its consumer parks what it cannot apply); it READs the topics it consumes and its group,
    and DESCRIBEs every topic it touches; its idempotent producer needs IDEMPOTENT_WRITE on the
    cluster. ``create``: CREATE too on the literal topics it touches, for clusters where
    provisioning does not create every topic first (the tests, one topic prefix per test); a
    deployment's provisioning creates them all and grants no CREATE.

    The ``projector`` reads every event topic and writes their copies in Kafka transactions
    (its transactional ids start with its name). ``analytics`` READs only the copies, with any
    group whose name starts with ``analytics``, and writes nothing (not even its group's offsets
    need more than READ on the group).
    """
    found: set[Grant] = set()
    for service in principals:
        writes, reads = _writes(service, prefix), _reads(service, prefix)
        if service == ANALYTICS:
            found |= {Grant(service, "TOPIC", t, op) for t in reads for op in ("READ", "DESCRIBE")}
            found.add(Grant(service, "GROUP", f"{prefix}{ANALYTICS}", "READ", "PREFIXED"))
            continue
        for topic in writes:
            found |= {Grant(service, "TOPIC", topic, "WRITE")}
        for topic in reads:
            found |= {Grant(service, "TOPIC", topic, "READ")}
        for topic in writes + reads:
            ops = ("DESCRIBE", "CREATE") if create else ("DESCRIBE",)
            found |= {Grant(service, "TOPIC", topic, op) for op in ops}
        if reads:
            found.add(Grant(service, "GROUP", consumer_group(service, prefix), "READ"))
        # Every producer of ours is idempotent (acks=all, no duplicates on retry).
        found.add(Grant(service, "BROKER", CLUSTER, "IDEMPOTENT_WRITE"))
        if service == PROJECTOR:
            txn = f"{prefix}{PROJECTOR}"
            found |= {
                Grant(service, "TRANSACTIONAL_ID", txn, op, "PREFIXED")
                for op in ("WRITE", "DESCRIBE")
            }
    return sorted(found)


def trust_table() -> str:
    """The README's trust model: each principal, what it may write and read (Markdown)."""
    rows = ["| principal | may write | may read |", "| --- | --- | --- |"]
    for service in SERVICES:
        consumed = consumed_topics(service)
        writes = ", ".join(f"`{t}`" for t in owned_topics(service))
        if consumed:
            writes += "; the `.DLT` of each topic it reads"
        reads = ", ".join(f"`{t}`" for t in consumed) or "nothing"
        if consumed:
            reads += f" (group `{consumer_group(service)}`)"
        rows.append(f"| `{service}` | {writes} | {reads} |")
    rows.append(
        f"| `{PROJECTOR}` | the pseudonymised copies `analytics.<Event>` (and their `.DLT`), "
        f"in transactions | every event topic (group `{PROJECTOR}`) |"
    )
    rows.append(
        f"| `{ANALYTICS}` | nothing | the pseudonymised copies `analytics.<Event>` "
        f"(groups `{ANALYTICS}*`) |"
    )
    rows.append(f"| `{ADMIN}` | (super user: provisioning only) | (provisioning only) |")
    return "\n".join(rows)
