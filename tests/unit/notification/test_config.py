"""Settings refuse what would make the service unsafe to run."""

from __future__ import annotations

import pytest
from notification.adapters.smtp import classify
from notification.config import Settings
from pydantic import ValidationError
from secop_runtime.sealing import generate_keypair

pytestmark = pytest.mark.unit

KEY, _ = generate_keypair()
GOOD = "a-long-random-operator-token-0123456789"


@pytest.mark.parametrize("token", ["changeme", "short-token", "x" * 40, ""])
def test_placeholder_or_short_operator_tokens_are_refused(token: str) -> None:
    with pytest.raises(ValidationError, match="OPERATOR_TOKEN"):
        Settings(seal_private_key=KEY, operator_token=token)


def test_a_seal_key_that_is_not_32_base64_bytes_is_refused() -> None:
    with pytest.raises(ValidationError, match="SEAL_PRIVATE_KEY"):
        Settings(seal_private_key="bm90IGEga2V5", operator_token=GOOD)


def test_the_send_lease_must_outlive_a_slow_smtp_exchange() -> None:
    with pytest.raises(ValidationError, match="SEND_LEASE_S"):
        Settings(seal_private_key=KEY, operator_token=GOOD, smtp_timeout_s=60, send_lease_s=90)
    s = Settings(seal_private_key=KEY, operator_token=GOOD)
    assert s.delivery_max_attempts == 5 and s.smtp_tls == "none"
    assert GOOD not in repr(s)


def test_smtp_failures_are_told_apart() -> None:
    import aiosmtplib

    refused = aiosmtplib.SMTPRecipientsRefused(
        [aiosmtplib.SMTPRecipientRefused(550, "no such user", "a@b.co")]
    )
    assert classify(refused).permanent
    assert not classify(aiosmtplib.SMTPResponseException(451, "later")).permanent
    assert classify(aiosmtplib.SMTPDataError(554, "rejected")).permanent
    assert not classify(aiosmtplib.SMTPAuthenticationError(535, "bad creds")).permanent
    assert not classify(aiosmtplib.SMTPServerDisconnected("gone")).permanent
