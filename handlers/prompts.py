"""Batched review prompts: each reviewer gets one message listing what is new.

Run periodically by the server (and by `python -m bot prompts`): claims that
arrived since a reviewer's last prompt are listed together, never one push
per claim.
"""

from __future__ import annotations

import logging

from handlers.replies import Replies
from handlers.review import STAGES, claim_view
from scoring.standard import Standard
from storage.people import APPROVER, CHECKER
from storage.store import Store

logger = logging.getLogger(__name__)

# Most claims one prompt lists; the rest are counted and wait for 待办.
PROMPT_SHOWN = 10


def queue_prompts(
    store: Store, standards: dict[str, Standard], replies: Replies
) -> int:
    """Queue one prompt per reviewer with new waiting claims; returns how many."""
    queued = 0
    with store.transaction():
        for school in store.all_schools():
            waiting = store.waiting(STAGES[CHECKER].waiting, school_id=school.id)
            for reviewer in store.people_at(school.id, CHECKER):
                queued += _prompt(store, standards, replies, reviewer, CHECKER, waiting)
        for town_id in {s.town_id for s in store.all_schools()}:
            waiting = store.waiting(STAGES[APPROVER].waiting, town_id=town_id)
            for approver in store.people_in_town(town_id, APPROVER):
                queued += _prompt(
                    store, standards, replies, approver, APPROVER, waiting
                )
    if queued:
        logger.info("queued %d review prompt(s)", queued)
    return queued


def _prompt(store, standards, replies, reviewer: dict, role: str, waiting) -> int:
    # A reviewer's own claims wait for someone else.
    waiting = [w for w in waiting if w.person_id != reviewer["id"]]
    new = store.unprompted(reviewer["id"], [w.claim_id for w in waiting])
    if not new:
        return 0
    views = [claim_view(store, standards, claim_id) for claim_id in new[:PROMPT_SHOWN]]
    text = replies.render(
        "review_prompt", stage=STAGES[role], new=views, total=len(waiting)
    )
    store.enqueue_push(reviewer["id"], text, key=f"prompt:{reviewer['id']}:{max(new)}")
    store.mark_prompted(reviewer["id"], new)
    return 1
