"""Evidence files: fetched from WeChat after the answer, kept in the data folder.

WeChat keeps a sent photo only for days, so each one is downloaded soon after
it arrives, stored under its SHA-256 (the same photo sent twice is one file),
and its hash and size are recorded beside the claim.
"""

from __future__ import annotations

import hashlib
import logging
import mimetypes
from pathlib import Path

from bot.push import FINAL, SENT, Media, PushClient
from storage.store import Store

logger = logging.getLogger(__name__)

# Rows fetched per pass, and attempts before a transient failure becomes final.
BATCH = 20
MAX_ATTEMPTS = 5


class MediaFetcher:
    """Downloads pending evidence with the push client's shared access tokens."""

    def __init__(self, store: Store, client: PushClient, folder: Path):
        self.store = store
        self.client = client
        self.folder = folder

    async def run_once(self) -> int:
        """Fetch what is pending; returns how many files were stored."""
        stored = 0
        for row in self.store.evidence_to_fetch(BATCH, MAX_ATTEMPTS):
            result = await self.client.fetch_media(
                row["channel"] or "oa", row["media_id"]
            )
            if isinstance(result, Media):
                self._keep(row["id"], result)
                stored += 1
            else:
                final = result.status in (FINAL, SENT) or False
                with self.store.transaction():
                    self.store.evidence_failed(row["id"], result.detail, final=final)
                logger.warning("evidence %s not fetched: %s", row["id"], result.detail)
        return stored

    def _keep(self, evidence_id: int, media: Media) -> None:
        digest = hashlib.sha256(media.content).hexdigest()
        suffix = mimetypes.guess_extension(media.content_type) or ".bin"
        path = self.folder / digest[:2] / f"{digest}{suffix}"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_bytes(media.content)
            partial.replace(path)  # never a half-written file under the final name
        with self.store.transaction():
            self.store.evidence_fetched(
                evidence_id, str(path), digest, len(media.content)
            )
        logger.info("evidence %s stored (%d bytes)", evidence_id, len(media.content))
