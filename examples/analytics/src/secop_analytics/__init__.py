"""An analytics team's consumer of the SECOP accounts events (the pseudonymised copies)."""
