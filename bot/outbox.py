"""The outbox sender: delivers queued pushes after the webhook has answered.

A handler queues a push with `store.enqueue_push(person_id, text, key)` in
its own transaction. This sender finds the person's identities (table
`identities`: an OpenID for "oa", a userid for "wecom") and tries the
configured routes in the order of `[push] routes`, skipping those the person
cannot be reached by: `oa_custom` (only inside the 48-hour window since the
person last wrote, and only `oa_window_quota` times in it), `wecom` (at most
`wecom_per_minute` and `wecom_per_hour` to one member: more are held back,
since WeCom drops them silently), `oa_template`. A final answer moves the push
to the next route; a transient one retries the same route with exponential
backoff, `max_attempts` times; when no route is left the push is undelivered.

Delivery is at most once. WeChat's send APIs have no idempotency key, so a
call whose outcome is unknown cannot be repeated without risking a second
copy. A row is therefore claimed (`sending`, committed) before its call, and
only its claimant settles it. A row found `sending` at start belongs to a
process that stopped during the call: it becomes `unknown` and is never sent
again. Likewise a call whose connection broke after the request was written.
A push is retried only when the failure proves WeChat did not take it
(connection refused, HTTP 5xx, busy, rate-limited, token refused). The price
is that a crash loses at most the one push then in flight; a graceful stop
waits `drain_seconds` for it. Queued rows are never lost: they are in SQLite
and sent by the next process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import aiohttp

from bot.config import Config, PushConfig
from bot.media import MediaFetcher
from bot.push import (
    FINAL,
    SENT,
    TRANSIENT,
    Outcome,
    PushClient,
    Route,
    configured_routes,
)
from storage.outbox import Push, Recipient
from storage.store import Store

logger = logging.getLogger(__name__)

# Rows taken from the queue per round.
BATCH = 20
_INTERRUPTED = "the process stopped during the call; not sent again"


class OutboxSender:
    """Sends due pushes; `start()` runs it in the background until `stop()`."""

    def __init__(
        self,
        store: Store,
        client: PushClient,
        settings: PushConfig,
        *,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None
        # Limits checked before a call: a refusal fails the route, a wait defers.
        self._refusals = {"oa_custom": self._window_refusal}
        self._waits = {"wecom": self._wecom_wait}
        # Evidence downloads share this client, so one place holds each token.
        self.media: MediaFetcher | None = None

    def wake(self) -> None:
        """Look at the queue now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        recovered = self.store.recover_pushes_in_flight(_INTERRUPTED)
        if recovered:
            logger.warning("%s push(es) were in flight at the last stop", recovered)
        self._task = asyncio.create_task(self._run(), name="outbox sender")

    async def stop(self) -> None:
        """Let a send in flight finish (up to drain_seconds), then stop."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        done, _ = await asyncio.wait({self._task}, timeout=self.settings.drain_seconds)
        if not done:
            # Its row stays `sending` and becomes `unknown` at the next start.
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> int:
        """Send what is due now; the number of rows looked at."""
        due = self.store.pushes_due(self.clock(), BATCH)
        for push in due:
            if self._stopping:
                break
            await self._deliver(push)
        return len(due)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                looked_at = await self.run_once()
                if self.media is not None:
                    await self.media.run_once()
                delay = 0.0 if looked_at == BATCH else self._until_next_due()
            except Exception:
                # The top of the sender: anything unforeseen waits for the next poll.
                logger.exception("outbox round failed")
                delay = float(self.settings.poll_seconds)
            if delay:
                await self._sleep(delay)

    def _until_next_due(self) -> float:
        delay = float(self.settings.poll_seconds)
        next_due = self.store.next_push_due_at()
        if next_due is not None:
            delay = min(delay, max(0.0, (next_due - self.clock()).total_seconds()))
        return delay

    async def _sleep(self, delay: float) -> None:
        """Until `delay` has passed or wake() is called."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=delay)
        self._wake.clear()

    async def _deliver(self, push: Push) -> None:
        recipients = self.store.push_recipients(push.person_id)
        for route in self.client.routes:
            if route.name in push.failed_routes or route.platform not in recipients:
                continue
            if not await self._try(push, route, recipients[route.platform]):
                return
        self._give_up(push.id)

    async def _try(self, push: Push, route: Route, recipient: Recipient) -> bool:
        """One try on one route; True when the route failed and the next may go."""
        push_id, now = push.id, self.clock()
        refusal = self._refusals.get(route.name, _no_limit)(recipient, now)
        if refusal:
            return self._route_failed(push_id, route, refusal, now, claimed=False)
        until = self._waits.get(route.name, _no_limit)(recipient, now)
        if until:
            self.store.defer_push(push_id, until)
            return False

        # The token is fetched before the claim, so that a stop meanwhile loses nothing.
        unready = await self.client.prepare(route.name)
        if unready is not None:
            self.store.postpone_push(push_id, route.name, now)
            return self._transient(push_id, route, unready, now, claimed=False)
        if not self.store.claim_push(push_id, route.name, recipient.external_id, now):
            return False  # another sender took it
        logger.debug("push %s to %s via %s", push_id, recipient.external_id, route.name)
        outcome = await self.client.send(route.name, recipient.external_id, push.text)
        return self._settle(push_id, route, outcome)

    def _settle(self, push_id: int, route: Route, outcome: Outcome) -> bool:
        now = self.clock()
        if outcome.status == SENT:
            self.store.mark_push_sent(push_id, now)
            logger.info("push %s sent via %s", push_id, route.name)
            return False
        if outcome.status == FINAL:
            return self._route_failed(push_id, route, outcome.detail, now, claimed=True)
        if outcome.status == TRANSIENT:
            return self._transient(push_id, route, outcome, now, claimed=True)
        self.store.mark_push_unknown(push_id, f"{route.name}: {outcome.detail}")
        logger.warning(
            "push %s via %s: outcome unknown (%s); not sent again",
            push_id, route.name, outcome.detail,
        )  # fmt: skip
        return False

    def _transient(
        self,
        push_id: int,
        route: Route,
        outcome: Outcome,
        now: datetime,
        *,
        claimed: bool,
    ) -> bool:
        """Retry later with backoff, or give the route up after max_attempts."""
        tries = self.store.push(push_id).route_attempts
        if tries >= self.settings.max_attempts:
            detail = f"gave up after {tries} tries ({outcome.detail})"
            return self._route_failed(push_id, route, detail, now, claimed=claimed)
        delay = self._backoff(tries)
        if claimed:
            self.store.mark_push_retry(push_id, now + delay)
        else:
            self.store.defer_push(push_id, now + delay)
        logger.info(
            "push %s via %s failed for now (%s); try %s in %ss",
            push_id, route.name, outcome.detail, tries + 1, int(delay.total_seconds()),
        )  # fmt: skip
        return False

    def _route_failed(
        self, push_id: int, route: Route, detail: str, now: datetime, *, claimed: bool
    ) -> bool:
        self.store.fail_push_route(push_id, route.name, detail, now, claimed=claimed)
        logger.info("push %s not via %s: %s", push_id, route.name, detail)
        return True

    def _give_up(self, push_id: int) -> None:
        if self.store.push(push_id).failed_routes:
            reason = "no route left"
        else:
            reason = "no configured route reaches this person"
        self.store.mark_push_undelivered(push_id, reason)
        logger.warning("push %s undelivered: %s", push_id, reason)

    def _window_refusal(self, recipient: Recipient, now: datetime) -> str | None:
        """Why a customer-service message cannot go now, if it cannot."""
        opened = recipient.last_inbound_at
        hours = self.settings.oa_window_hours
        if opened is None or now - opened >= timedelta(hours=hours):
            return f"outside the {hours}-hour window"
        sent = self.store.push_times("oa_custom", recipient.external_id, opened)
        if len(sent) >= self.settings.oa_window_quota:
            return "window quota used"
        return None

    def _wecom_wait(self, recipient: Recipient, now: datetime) -> datetime | None:
        """When a slot frees up, if one member's minute or hour is full."""
        limits = [
            (timedelta(minutes=1), self.settings.wecom_per_minute),
            (timedelta(hours=1), self.settings.wecom_per_hour),
        ]
        waits = []
        for span, cap in limits:
            sent = self.store.push_times("wecom", recipient.external_id, now - span)
            if len(sent) >= cap:
                # Stored times are whole seconds and the window includes its start.
                waits.append(sent[-cap] + span + timedelta(seconds=1))
        return max(waits, default=None)

    def _backoff(self, tries: int) -> timedelta:
        seconds = self.settings.retry_base_seconds * 2 ** (tries - 1)
        return timedelta(seconds=min(seconds, self.settings.retry_max_seconds))


def _no_limit(recipient: Recipient, now: datetime) -> None:
    return None


def push_configured(config: Config) -> bool:
    """Whether any route has its settings, so that a sender is worth running."""
    return bool(configured_routes(config))


@contextlib.asynccontextmanager
async def running_sender(
    config: Config, *, clock: Callable[[], datetime] | None = None
) -> AsyncIterator[OutboxSender]:
    """A started sender with its own HTTP session and database connection."""
    store = Store(config.storage.database, clock=clock)
    try:
        async with aiohttp.ClientSession() as session:
            client = PushClient(config, session, clock=clock)
            sender = OutboxSender(store, client, config.push, clock=clock)
            sender.media = MediaFetcher(
                store, client, config.storage.database.parent / "evidence"
            )
            sender.start()
            try:
                yield sender
            finally:
                await sender.stop()
    finally:
        store.close()
