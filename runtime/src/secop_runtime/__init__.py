"""Runtime shared by every SECOP accounts service.

Settings, broker and database wiring, the outbox relay, idempotent consumption with dead
letters, health, metrics, JSON logging and access-token verification: written once here so the
four services stay thin and alike.
"""
