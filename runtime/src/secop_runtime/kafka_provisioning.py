"""Topics and ACLs, created with the admin principal before any service starts.

Services never need more than their grants (``secop_contracts.access.grants``): every topic and
dead-letter topic exists before they run, so none of them holds CREATE. An operator runs this as
a deployment step (``python -m secop_runtime.kafka_provisioning``, configured like a service
with the admin principal's ``KAFKA_*`` variables); the local infrastructure and the tests call
``provision()``.

Kafka's Admin API for ACLs and SCRAM credentials comes from confluent-kafka (librdkafka):
aiokafka has no ACL calls.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable
from typing import Any

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)
from secop_contracts.access import PRINCIPALS, Grant, all_topics, grants

from secop_runtime.settings import ServiceSettings, secret

TIMEOUT_S = 30.0


def admin_config(settings: ServiceSettings) -> dict[str, Any]:
    """librdkafka's configuration for the same connection a service's settings describe."""
    config: dict[str, Any] = {
        "bootstrap.servers": settings.kafka_bootstrap_servers,
        "security.protocol": settings.kafka_security_protocol,
        "client.id": f"{settings.service_name}-provisioning",
    }
    if settings.kafka_security_protocol != "PLAINTEXT" and settings.kafka_ca_file:
        config["ssl.ca.location"] = settings.kafka_ca_file
    if settings.kafka_security_protocol == "SASL_SSL":
        config |= {
            "sasl.mechanism": settings.kafka_sasl_mechanism,
            "sasl.username": settings.kafka_username,
            "sasl.password": secret(settings.kafka_password),
        }
    return config


def _binding(grant: Grant) -> AclBinding:
    return AclBinding(
        ResourceType[grant.resource],
        grant.name,
        ResourcePatternType[grant.pattern],
        f"User:{grant.principal}",
        "*",
        AclOperation[grant.operation],
        AclPermissionType.ALLOW,
    )


def _wait(futures: dict[Any, Any], ignore: Iterable[int] = ()) -> None:
    for key, future in futures.items():
        try:
            future.result(timeout=TIMEOUT_S)
        except KafkaException as exc:
            error: KafkaError = exc.args[0]
            if error.code() not in set(ignore):
                raise RuntimeError(f"{key}: {error.str()}") from exc


def create_topics(admin: AdminClient, topics: list[str], partitions: int, replicas: int) -> None:
    if not topics:
        return
    existing = set(admin.list_topics(timeout=TIMEOUT_S).topics)
    missing = [NewTopic(t, partitions, replicas) for t in topics if t not in existing]
    if missing:
        _wait(admin.create_topics(missing), ignore=[KafkaError.TOPIC_ALREADY_EXISTS])


def create_acls(admin: AdminClient, wanted: list[Grant]) -> None:
    """Add every grant (adding one that exists is a no-op on the broker), and return once the
    broker enforces them: the controller records ACLs, brokers apply them a moment later, and a
    service started in between would be refused."""
    if not wanted:
        return
    bindings = [_binding(g) for g in wanted]
    _wait(admin.create_acls(bindings))
    # One request's ACLs reach the brokers in one metadata batch: the last one stands for all.
    last = bindings[-1]
    probe = AclBindingFilter(
        last.restype,
        last.name,
        last.resource_pattern_type,
        last.principal,
        last.host,
        last.operation,
        last.permission_type,
    )
    deadline = time.monotonic() + TIMEOUT_S
    while not admin.describe_acls(probe).result(timeout=TIMEOUT_S):
        if time.monotonic() > deadline:
            raise RuntimeError("the broker did not apply the new ACLs in time")
        time.sleep(0.1)


def _mechanism(name: str) -> ScramMechanism:
    return ScramMechanism[name.replace("-", "_")]


def set_password(
    admin: AdminClient, user: str, password: str, mechanism: str, iterations: int = 8192
) -> None:
    """Create or replace one principal's SCRAM credential for ``mechanism``.

    Rotation without downtime (README, security): add the new password under the mechanism
    the principal does not use now, move its instances to it, then ``delete_credential`` the
    old one; until then both log in.
    """
    info = ScramCredentialInfo(_mechanism(mechanism), iterations)
    upsert = UserScramCredentialUpsertion(user, info, password.encode())
    _wait(admin.alter_user_scram_credentials([upsert]))


def delete_credential(admin: AdminClient, user: str, mechanism: str) -> None:
    _wait(
        admin.alter_user_scram_credentials(
            [UserScramCredentialDeletion(user, _mechanism(mechanism))]
        )
    )


def provision(
    settings: ServiceSettings,
    principals: Iterable[str] = PRINCIPALS,
    topics: bool = True,
) -> tuple[list[str], list[Grant]]:
    """Create every topic (event topics, their pseudonymised copies, the dead-letter topics of
    both) and every grant of ``principals`` for the settings' topic prefix; returns both.
    Idempotent: run it on every deployment. ``topics=False``: grants only, with CREATE on the
    topics each principal touches (the services create what they use: the tests)."""
    admin = AdminClient(admin_config(settings))
    prefix = settings.kafka_topic_prefix
    names = all_topics(prefix) if topics else []
    create_topics(admin, names, settings.kafka_topic_partitions, settings.kafka_replication_factor)
    wanted = grants(prefix, principals, create=not topics)
    create_acls(admin, wanted)
    return names, wanted


#: ``KAFKA_PASSWORD_<PRINCIPAL>`` (e.g. ``KAFKA_PASSWORD_REGISTRATION``) sets that principal's
#: SCRAM credential on every run, so a deployment's secrets and the broker always agree.
PASSWORD_ENV = "KAFKA_PASSWORD_"  # noqa: S105 - a variable name prefix


def passwords_from(env: dict[str, str]) -> dict[str, str]:
    """The principals' passwords given in the environment (only known principals)."""
    found = {}
    for principal in PRINCIPALS:
        value = env.get(f"{PASSWORD_ENV}{principal.upper()}", "")
        if value:
            found[principal] = value
    return found


def main() -> int:
    settings = ServiceSettings(service_name="admin")
    passwords = passwords_from(dict(os.environ))
    if passwords:
        admin = AdminClient(admin_config(settings))
        for principal, password in passwords.items():
            set_password(admin, principal, password, settings.kafka_sasl_mechanism)
    topics, wanted = provision(settings)
    print(
        f"{len(passwords)} credentials, {len(topics)} topics and {len(wanted)} ACLs in place",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
