"""The notification service: every email a person must receive, delivered once, never lost."""
