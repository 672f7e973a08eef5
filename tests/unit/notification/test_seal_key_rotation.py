"""Rotating notification's sealing key loses no email: tokens sealed for the replaced key (events
still in flight) open with ``SEAL_PREVIOUS_PRIVATE_KEYS``; a key nobody listed opens nothing."""

from __future__ import annotations

import pytest
from notification.config import Settings
from notification.service_layer.context import renderer_for
from notification.service_layer.rendering import RenderError
from pydantic import ValidationError
from secop_runtime.sealing import generate_keypair, seal

pytestmark = pytest.mark.unit

OPERATOR = "op-" + "0123456789abcdef" * 2


def test_a_token_sealed_for_the_replaced_key_still_opens_during_the_rotation() -> None:
    old_private, old_public = generate_keypair()
    new_private, new_public = generate_keypair()
    rotated = renderer_for(
        Settings(
            seal_private_key=new_private,
            seal_previous_private_keys=[old_private],
            operator_token=OPERATOR,
        )
    )
    assert rotated._open(seal(old_public, "in-flight")) == "in-flight"
    assert rotated._open(seal(new_public, "new")) == "new"

    finished = renderer_for(Settings(seal_private_key=new_private, operator_token=OPERATOR))
    with pytest.raises(RenderError):
        finished._open(seal(old_public, "in-flight"))


def test_a_malformed_previous_key_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(
            seal_private_key=generate_keypair()[0],
            seal_previous_private_keys=["not-a-key-value"],
            operator_token=OPERATOR,
        )
    assert "SEAL_PREVIOUS_PRIVATE_KEYS must be base64" in str(refused.value)
    assert "not-a-key-value" not in str(refused.value)
