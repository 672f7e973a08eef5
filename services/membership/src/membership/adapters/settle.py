"""Waiting for the outbox relay to finish with a document before changing it again.

On FerretDB 1.24 every update is query-then-replace. The relay removes published events with
two such updates (``$pullAll``, then ``$unset`` of the pending flag); a state change landing
between the relay's read and its write would be silently overwritten. So a writer (who already
holds the aggregate's turn) first waits until the document has no pending events: from then on
the relay does not touch it. If the relay cannot publish (Kafka down), the aggregate refuses
changes (``Busy``, HTTP 409 "try again") instead of losing them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from secop_runtime.outbox import PENDING

from membership.adapters.turns import Busy

SETTLE_WAIT_S = 10.0


async def update_settled(col: AsyncCollection, doc_id: str, update: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + SETTLE_WAIT_S
    delay = 0.01
    while await col.find_one({"_id": doc_id, PENDING: True}, {"_id": 1}):
        if loop.time() > deadline:
            raise Busy(f"{col.name}:{doc_id} has unpublished events")
        await asyncio.sleep(delay)
        delay = min(delay * 2, 0.2)
    await col.update_one({"_id": doc_id}, update)
