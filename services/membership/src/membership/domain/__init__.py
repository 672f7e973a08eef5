"""Pure rules of accounts, documents and memberships: no I/O, no framework imports."""
