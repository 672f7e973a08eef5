"""Use cases: validate, call the domain, store the change with its events."""
