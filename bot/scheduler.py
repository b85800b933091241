"""The in-process scheduler: deadline reminders and batched review prompts, on time.

It runs with the app, beside the outbox sender, as one asyncio task; the
work of each step runs in a worker thread on the scheduler's own database
connection, so the webhook keeps answering meanwhile. A step looks at the
clock (injectable: tests drive it without sleeping) and does what is due:

- Reminder rounds. Each school has a season: its deadline (default 12-28)
  and the reminder days before it, for its teachers and, towards the
  earlier reviewers' deadline, for its reviewers. A round (school, audience,
  day) falls due at `send_at` China time on its day. Each round is queued
  in one transaction together with its reminder log rows and a mark that it
  ran, so after a restart a round is either done or not started: nothing is
  sent twice and nothing is skipped. A round missed while the server was
  down is queued when it comes back, unless a later round of the same
  audience has come due meanwhile (that one carries the current numbers),
  or that audience's deadline has passed. Nothing is queued in quiet hours:
  what falls due then waits until they end.
- Review prompts (handlers.prompts.queue_prompts) every `prompt_minutes`,
  outside quiet hours.

`python -m bot remind` runs a round for every school at once (see
`remind_now`); the reminder log keeps it from repeating what a scheduled
round of the same day sent, and the other way round.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from multiprocessing import get_context
from pathlib import Path

from bot.config import (
    REVIEWERS_LEAD,
    Config,
    RemindersConfig,
    in_span,
    parse_clock,
    parse_month_day,
    parse_span,
)
from handlers.prompts import queue_prompts
from handlers.reminders import (
    CHINA,
    REVIEWERS,
    TEACHERS,
    Jobs,
    Reminder,
    ReminderBuilder,
    Round,
    compute_standings,
)
from scoring.standard import Standard, load_standards
from storage.people import School
from storage.reminders import Standing
from storage.store import Store

logger = logging.getLogger(__name__)

# The longest nap: the clock is looked at again at least this often.
LONGEST_NAP = timedelta(hours=1)
# After a step failed, the next try.
RETRY_AFTER = timedelta(minutes=5)
# From this many standings to work out, the cores share the work.
PARALLEL_FROM = 5000


@dataclass(frozen=True)
class Season:
    """One school's dates for one deadline."""

    deadline: date
    reviewers_deadline: date
    teacher_days: tuple[date, ...]  # oldest first
    reviewer_days: tuple[date, ...]


class Calendar:
    """Reminder days per school, send time and quiet hours, from [reminders]."""

    def __init__(self, settings: RemindersConfig) -> None:
        self.settings = settings
        self.send_at = parse_clock(settings.send_at)
        self.quiet_hours = parse_span(settings.quiet_hours)
        self.lead = REVIEWERS_LEAD
        if settings.reviewers_deadline:
            # A school that moves its deadline keeps the general distance.
            general = date(2001, *parse_month_day(settings.deadline))
            reviewers = parse_month_day(settings.reviewers_deadline)
            self.lead = general - _on_or_before(general, reviewers)

    def season(self, school: str, today: date) -> Season:
        """The school's season whose deadline is today or next."""
        general, own = self.settings, self.settings.schools.get(school)
        moved = own is not None and bool(own.deadline)
        deadline = _on_or_after(
            today, parse_month_day(own.deadline if moved else general.deadline)
        )
        if own and own.reviewers_deadline:
            reviewers = _on_or_before(deadline, parse_month_day(own.reviewers_deadline))
        elif general.reviewers_deadline and not moved:
            reviewers = _on_or_before(
                deadline, parse_month_day(general.reviewers_deadline)
            )
        else:
            reviewers = deadline - self.lead
        teacher_days = _setting(own, general, "days_before")
        reviewer_days = _setting(own, general, "reviewer_days")
        return Season(
            deadline,
            reviewers,
            tuple(sorted({deadline - timedelta(days=n) for n in teacher_days})),
            tuple(sorted({reviewers - timedelta(days=n) for n in reviewer_days})),
        )

    def rounds_due(
        self, schools: list[School], now: datetime
    ) -> tuple[list[Round], datetime | None]:
        """Each school's latest round that has come due, and when the next one will."""
        today = now.astimezone(CHINA).date()
        due, upcoming = [], []
        for school in schools:
            season = self.season(school.name, today)
            for audience, days, deadline in (
                (TEACHERS, season.teacher_days, season.deadline),
                (REVIEWERS, season.reviewer_days, season.reviewers_deadline),
            ):
                if today >= deadline:
                    continue  # this audience's season is over
                passed = [day for day in days if self.at(day) <= now]
                if passed:
                    due.append(Round(school.id, audience, passed[-1], deadline,
                                     season.deadline))  # fmt: skip
                upcoming += [self.at(day) for day in days if self.at(day) > now][:1]
        return due, min(upcoming, default=None)

    def rounds_on(self, schools: list[School], day: date) -> list[Round]:
        """A round for every school and audience on one day (a manual run)."""
        rounds = []
        for school in schools:
            season = self.season(school.name, day)
            rounds.append(
                Round(school.id, TEACHERS, day, season.deadline, season.deadline)
            )
            rounds.append(Round(school.id, REVIEWERS, day, season.reviewers_deadline,
                                season.deadline))  # fmt: skip
        return rounds

    def at(self, day: date) -> datetime:
        """The moment a round of that day falls due."""
        return datetime.combine(day, self.send_at, tzinfo=CHINA)

    def quiet(self, moment: datetime) -> bool:
        span = self.quiet_hours
        return span is not None and in_span(_china_time(moment), span)

    def leave_at(self, moment: datetime) -> datetime:
        """The moment itself, or the end of the quiet hours it falls in."""
        if not self.quiet(moment):
            return moment
        china = moment.astimezone(CHINA)
        end = datetime.combine(china.date(), self.quiet_hours[1], tzinfo=CHINA)
        return end if end > china else end + timedelta(days=1)


class Scheduler:
    """Queues reminders and review prompts when due; `start()` runs it until `stop()`."""

    def __init__(
        self,
        store: Store,
        builder: ReminderBuilder,
        calendar: Calendar,
        *,
        prompts: Callable[[], int] | None = None,
        prompt_every: timedelta | None = None,
        reminders: bool = True,
        clock: Callable[[], datetime] | None = None,
        on_queued: Callable[[], None] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.store = store
        self.builder = builder
        self.calendar = calendar
        self.prompts = prompts
        self.prompt_every = prompt_every
        self.reminders = reminders
        self.clock = clock or (lambda: datetime.now(UTC))
        self.on_queued = on_queued
        self._sleep = sleep or self._nap
        self._next_prompt = datetime.min.replace(tzinfo=UTC)
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task | None = None

    def run_due(self) -> tuple[int, datetime]:
        """Queue what is due now: how many messages, and when to look again."""
        now = self.clock()
        wake = [now + LONGEST_NAP]
        queued = 0
        if self.reminders:
            count, next_at = self._due_rounds(now)
            queued += count
            wake += [next_at] if next_at else []
        if self.prompts and self.prompt_every:
            queued += self._due_prompts(now)
            wake.append(self._next_prompt)
        return queued, min(wake)

    def _due_rounds(self, now: datetime) -> tuple[int, datetime | None]:
        due, next_at = self.calendar.rounds_due(self.store.all_schools(), now)
        if due:
            done = self.store.rounds_done(min(r.day for r in due))
            due = [r for r in due if (r.school_id, r.day, r.audience) not in done]
        if not due:
            return 0, next_at
        if self.calendar.quiet(now):
            return 0, self.calendar.leave_at(now)
        reminders = self.builder.build(due, now)
        return queue_rounds(self.store, due, reminders, scheduled=True), next_at

    def _due_prompts(self, now: datetime) -> int:
        if now < self._next_prompt:
            return 0
        if self.calendar.quiet(now):
            self._next_prompt = self.calendar.leave_at(now)
            return 0
        self._next_prompt = now + self.prompt_every
        return self.prompts()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="reminder scheduler")

    async def stop(self) -> None:
        """Stop after the step in progress (its work is in a thread and ends by itself)."""
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        await self._task

    async def _run(self) -> None:
        while not self._stopping:
            try:
                queued, wake_at = await asyncio.to_thread(self.run_due)
            except Exception:
                # The top of the scheduler: the next step tries again.
                logger.exception("scheduler step failed")
                queued, wake_at = 0, self.clock() + RETRY_AFTER
            if queued and self.on_queued is not None:
                self.on_queued()
            if not self._stopping:
                await self._sleep(max(0.0, (wake_at - self.clock()).total_seconds()))

    async def _nap(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=seconds)


def queue_rounds(
    store: Store,
    rounds: list[Round],
    reminders: list[Reminder],
    *,
    scheduled: bool,
    leave_at: datetime | None = None,
) -> int:
    """Queue the rounds' messages (and log them), each round in one transaction.

    `scheduled`: mark each round as run. `leave_at`: hold the pushes until then.
    """
    by_round: dict[Round, list[Reminder]] = defaultdict(list)
    for reminder in reminders:
        by_round[reminder.round].append(reminder)
    queued = 0
    for rnd in rounds:
        with store.transaction():
            for reminder in by_round[rnd]:
                queued += _queue(store, reminder, leave_at)
            if scheduled:
                store.finish_round(rnd.school_id, rnd.day, rnd.audience)
    if queued:
        logger.info("queued %d reminder(s) for %d round(s)", queued, len(rounds))
    return queued


def _queue(store: Store, reminder: Reminder, leave_at: datetime | None) -> int:
    rnd = reminder.round
    if not store.record_reminder(
        reminder.person_id, rnd.day, reminder.kind, rnd.season
    ):
        return 0  # this person had a reminder that day
    store.enqueue_push(reminder.person_id, reminder.text, reminder.key)
    if leave_at is not None:
        store.hold_push(reminder.key, leave_at)
    return 1


@dataclass(frozen=True)
class ManualRun:
    """What `python -m bot remind` queued, or with --dry-run would queue."""

    reminders: list[Reminder]
    leave_at: datetime  # when they leave: now, or the end of quiet hours
    queued: int


def remind_now(
    config: Config, now: datetime | None = None, *, dry_run: bool
) -> ManualRun:
    """Every school's round for the day the messages would be read, now."""
    standards = load_standards(config.scoring.standards_dir)
    store = Store(config.storage.database)
    try:
        builder = reminder_builder(config, store, standards)
        calendar = Calendar(config.reminders)
        now = now or datetime.now(UTC)
        leave_at = calendar.leave_at(now)
        rounds = calendar.rounds_on(
            store.all_schools(), leave_at.astimezone(CHINA).date()
        )
        reminders = builder.build(rounds, now)
        if dry_run:
            return ManualRun(reminders, leave_at, 0)
        held = leave_at if leave_at > now else None
        queued = queue_rounds(store, rounds, reminders, scheduled=False, leave_at=held)
        return ManualRun(reminders, leave_at, queued)
    finally:
        store.close()


def reminder_builder(
    config: Config, store: Store, standards: dict[str, Standard]
) -> ReminderBuilder:
    """A builder whose large refreshes of standings use every core."""

    def compute(jobs: Jobs) -> list[tuple[int, Standing]]:
        workers = min(os.cpu_count() or 1, 8)
        if len(jobs) < PARALLEL_FROM or workers < 2:
            return compute_standings(store, standards, jobs)
        return parallel_standings(
            config.storage.database, config.scoring.standards_dir, jobs, workers
        )

    return ReminderBuilder(store, standards, config.scoring.standard, compute=compute)


def parallel_standings(
    database: Path, standards_dir: Path | None, jobs: Jobs, workers: int
) -> list[tuple[int, Standing]]:
    """Standings worked out by `workers` processes, each reading on its own."""
    size = -(-len(jobs) // (workers * 4))
    parts = [jobs[i : i + size] for i in range(0, len(jobs), size)]
    # Spawned, not forked: the server runs threads, which a fork would copy badly.
    with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
        done = pool.map(
            _standings_part, [(database, standards_dir, part) for part in parts]
        )
        return [standing for part in done for standing in part]


_WORKER_STANDARDS: dict = {}


def _standings_part(task: tuple) -> list[tuple[int, Standing]]:
    database, standards_dir, jobs = task
    if standards_dir not in _WORKER_STANDARDS:
        _WORKER_STANDARDS[standards_dir] = load_standards(standards_dir)
    store = Store(database)
    try:
        return compute_standings(store, _WORKER_STANDARDS[standards_dir], jobs)
    finally:
        store.close()


@contextlib.asynccontextmanager
async def running_scheduler(
    config: Config,
    *,
    clock: Callable[[], datetime] | None = None,
    on_queued: Callable[[], None] | None = None,
) -> AsyncIterator[Scheduler]:
    """A started scheduler with its own database connection."""
    store = Store(config.storage.database, clock=clock)
    try:
        scheduler = build_scheduler(config, store, clock=clock, on_queued=on_queued)
        scheduler.start()
        try:
            yield scheduler
        finally:
            await scheduler.stop()
    finally:
        store.close()


def build_scheduler(
    config: Config,
    store: Store,
    *,
    clock: Callable[[], datetime] | None = None,
    on_queued: Callable[[], None] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
) -> Scheduler:
    """The server's scheduler on `store`, as [reminders] and [scoring] say."""
    settings = config.reminders
    unknown = set(settings.schools) - {school.name for school in store.all_schools()}
    if unknown:
        logger.warning(
            "[reminders.schools] names no school on the roster: %s",
            ", ".join(sorted(unknown)),
        )
    standards = load_standards(config.scoring.standards_dir)
    builder = reminder_builder(config, store, standards)
    every = (
        timedelta(minutes=settings.prompt_minutes) if settings.prompt_minutes else None
    )
    return Scheduler(
        store,
        builder,
        Calendar(settings),
        prompts=lambda: queue_prompts(store, standards, builder.replies),
        prompt_every=every,
        reminders=settings.enabled,
        clock=clock,
        on_queued=on_queued,
        sleep=sleep,
    )


def china_moment(text: str) -> datetime:
    """A moment written YYYY-MM-DD HH:MM, read as China time; ValueError otherwise."""
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=CHINA)


def _setting(own, general: RemindersConfig, key: str) -> tuple[int, ...]:
    value = getattr(own, key) if own is not None else None
    return getattr(general, key) if value is None else value


def _on_or_after(today: date, month_day: tuple[int, int]) -> date:
    this_year = date(today.year, *month_day)
    return this_year if this_year >= today else date(today.year + 1, *month_day)


def _on_or_before(day: date, month_day: tuple[int, int]) -> date:
    this_year = date(day.year, *month_day)
    return this_year if this_year <= day else date(day.year - 1, *month_day)


def _china_time(moment: datetime) -> time:
    return moment.astimezone(CHINA).time()
