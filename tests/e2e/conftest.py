"""The whole cluster as separate processes, started the way ``./dev up`` starts it.

The four services and the portal run as ``python -m <name>`` children configured only by their
environment, on free ports, with a topic and database prefix of their own; tests drive them over
HTTP and read the emails from the SMTP sink, as a person would. The end-to-end tier starts its own
local infrastructure (Kafka, FerretDB, the SMTP sink) so fault tests can kill and restart any of
it without disturbing other tests.

The fixtures (``local_infra``, ``cluster``, ``e2e_mailbox``) live in tests/conftest.py: the
browser tier (tests/browser) walks the same cluster, and one session starts it once.
"""
