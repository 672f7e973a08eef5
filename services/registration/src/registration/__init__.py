"""The registration service: sign-up, confirmation, login, recovery, profile, access history."""
