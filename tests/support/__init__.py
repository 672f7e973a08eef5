"""Test harness: infrastructure selection, service apps in-process, Kafka and mailbox readers."""
