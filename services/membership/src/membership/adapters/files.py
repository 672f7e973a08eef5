"""The contents of account documents, in GridFS (bucket ``documents``).

Which file is an account's current version of a document is part of the account aggregate
(``Account.documents``). A replacement is uploaded first under a new file id; only once it is
completely stored does the account point at it, and only then is the old file deleted, so a
failed or refused upload never loses the document already there. GridFS
(``AsyncGridFSBucket``) works on FerretDB 1.24: the integration tests upload, download and
delete.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from bson import ObjectId
from gridfs import AsyncGridFSBucket
from gridfs.errors import NoFile
from pymongo.asynchronous.database import AsyncDatabase

BUCKET = "documents"
CHUNK = 255 * 1024


class FileStore:
    def __init__(self, db: AsyncDatabase) -> None:
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK)

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

    async def stream(self, file_id: str) -> AsyncIterator[bytes]:
        out = await self._bucket.open_download_stream(ObjectId(file_id))
        try:
            while chunk := await out.readchunk():
                yield chunk
        finally:
            await out.close()
