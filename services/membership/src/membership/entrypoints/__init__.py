"""HTTP routes and event subscribers: thin, they call the service layer."""
