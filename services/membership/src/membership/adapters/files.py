"""Account documents: contents in GridFS, the current version of each type in ``account_documents``.

GridFS (``AsyncGridFSBucket``) works on FerretDB 1.24: upload, download and delete are checked by
the integration tests. A replacement is uploaded first under a new file id; only once it is
completely stored does the metadata point at it, and only then is the old file deleted, so a
failed or refused upload never loses the document already there.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from bson import ObjectId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo import IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from secop_runtime.mongo import ensure_indexes

BUCKET, DOCUMENTS = "documents", "account_documents"
CHUNK = 255 * 1024


class DocumentStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK)
        self.col = db[DOCUMENTS]

    @staticmethod
    async def ensure_indexes(db: AsyncDatabase) -> None:
        await ensure_indexes(db[DOCUMENTS], IndexModel("account_id", name="by_account"))

    async def upload(
        self, filename: str, source: BinaryIO, metadata: dict[str, Any]
    ) -> tuple[str, int, str]:
        """Store a file's content; returns (file id, size, sha256)."""
        digest, size = hashlib.sha256(), 0
        stream = self._bucket.open_upload_stream(filename, metadata=metadata)
        try:
            while chunk := source.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
                await stream.write(chunk)
        except BaseException:
            await stream.abort()
            raise
        await stream.close()
        return str(stream._id), size, digest.hexdigest()

    async def delete_file(self, file_id: str) -> None:
        with contextlib.suppress(NoFile):
            await self._bucket.delete(ObjectId(file_id))

    async def forget_account(self, account_id: str) -> None:
        """A discarded draft's document records (its files are deleted first)."""
        await self.col.delete_many({"account_id": account_id})

    async def current(self, account_id: str, doc_type: str) -> dict[str, Any] | None:
        return await self.col.find_one({"_id": f"{account_id}:{doc_type}"})

    async def of_account(self, account_id: str) -> list[dict[str, Any]]:
        return await self.col.find({"account_id": account_id}).sort("doc_type", 1).to_list()

    async def of_accounts(self, account_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
        docs = await self.col.find({"account_id": {"$in": account_ids}}).to_list()
        grouped: dict[str, list[dict[str, Any]]] = {}
        for d in sorted(docs, key=lambda d: d["doc_type"]):
            grouped.setdefault(d["account_id"], []).append(d)
        return grouped

    async def point_to(self, account_id: str, doc_type: str, meta: dict[str, Any]) -> None:
        """Make ``meta`` the current version of ``doc_type`` (caller holds the account's turn)."""
        await self.col.replace_one(
            {"_id": f"{account_id}:{doc_type}"},
            {"account_id": account_id, "doc_type": doc_type, **meta},
            upsert=True,
        )

    async def stream(self, file_id: str) -> AsyncIterator[bytes]:
        out = await self._bucket.open_download_stream(ObjectId(file_id))
        try:
            while chunk := await out.readchunk():
                yield chunk
        finally:
            await out.close()
