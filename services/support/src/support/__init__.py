"""The support service: the service desk's cases, work queue and entity activations."""
