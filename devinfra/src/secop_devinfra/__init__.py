"""Local infrastructure without Docker, and the cluster runner.

Installs and runs real Apache Kafka (KRaft, from Maven Central's artifacts on the machine's JDK),
FerretDB 1.24 (a MongoDB-wire server, built with Go) and an SMTP sink, each step idempotent and
cached under one git-ignored folder (``.local/``).
"""
