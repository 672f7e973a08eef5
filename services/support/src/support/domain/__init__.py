"""Pure domain logic: no I/O, no faststream, no pymongo."""
