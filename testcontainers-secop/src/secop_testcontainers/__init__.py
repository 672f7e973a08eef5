"""Testcontainers for the SECOP II accounts cluster (see the package README)."""

from secop_testcontainers.cluster import SecopCluster
from secop_testcontainers.containers import (
    KafkaContainer,
    MailboxContainer,
    MongoContainer,
    ServiceContainer,
)
from secop_testcontainers.images import SERVICES, Images
from secop_testcontainers.keys import ClusterKeys
from secop_testcontainers.mailbox import Mailbox

__all__ = [
    "SERVICES",
    "ClusterKeys",
    "Images",
    "KafkaContainer",
    "Mailbox",
    "MailboxContainer",
    "MongoContainer",
    "SecopCluster",
    "ServiceContainer",
]
