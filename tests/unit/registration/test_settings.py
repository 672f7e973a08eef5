"""Registration's settings refuse what would weaken its guarantees."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from registration.config import Settings

pytestmark = pytest.mark.unit


def test_an_access_token_lives_at_most_an_hour() -> None:
    assert Settings(access_token_ttl_s=3600).access_token_ttl_s == 3600
    with pytest.raises(ValidationError, match="access_token_ttl_s"):
        Settings(access_token_ttl_s=3601)
