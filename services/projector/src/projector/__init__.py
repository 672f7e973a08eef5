"""The analytics projector: every event topic copied, pseudonymised, to ``analytics.<Event>``."""
