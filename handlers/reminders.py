"""Deadline reminders: who is short, who has a queue, and what each of them is told.

A round is one school's teachers, or its reviewers, on one reminder day.
`ReminderBuilder.build` turns rounds into messages; bot/scheduler.py decides
when a round is due and queues its messages through the outbox.

- A teacher (bound, reminders on) below target gets the gap and the items
  with most room. One whose own claims are at their most, so that only a
  reviewer's bonus can close the gap, is told so once a season instead of
  being sent to look for items. A teacher at target gets one congratulation
  a season, then nothing.
- A school reviewer (学校核查) with claims waiting gets their count and the
  oldest of them.
- A central-school approver (中心校审定) gets each school of the town: teachers
  at target of all teachers, claims waiting for each level.
- Nobody reviews their own claims, so a reviewer's counts and oldest claim
  leave them out.

Nobody gets more than one reminder a day: a person in the reminder log for
the round's day or a later one (of the same season) is left out. That keeps
a restart from sending anything twice, and a manual run from being followed
by a scheduled round of that day or a late catch-up of an older one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime
from functools import lru_cache

from handlers.progress import Room, standing_from
from handlers.replies import CHINA, Replies
from handlers.review import claim_view
from scoring.numbers import display
from scoring.standard import PeriodSpan, Standard
from storage.people import APPROVER, CHECKER, TEACHER
from storage.reminders import Logged, Member, Queue, Standing
from storage.store import PENDING_APPROVAL, PENDING_CHECK, Store

logger = logging.getLogger(__name__)

# Who a round is for.
TEACHERS = "teachers"
REVIEWERS = "reviewers"
# What a reminder says; each has its template remind_<kind>.j2.
GAP = "gap"
BONUS = "bonus"
CONGRATS = "congrats"
CHECK = "check"
APPROVE = "approve"
ONCE_A_SEASON = (BONUS, CONGRATS)
# Standings worked out and saved per step, so that no write waits long.
REFRESH_STEP = 500

# (person, standard id, period key) in; (person, standing) out.
Jobs = list[tuple[int, str, str]]
Compute = Callable[[Jobs], list[tuple[int, Standing]]]


@dataclass(frozen=True)
class Round:
    """One school's teachers or reviewers, reminded for one day."""

    school_id: int
    audience: str  # TEACHERS or REVIEWERS
    day: date  # the reminder day (China time); part of each message's key
    deadline: date  # this audience's deadline
    season: date  # the teachers' deadline, which names the season


@dataclass(frozen=True)
class Reminder:
    round: Round
    person_id: int
    to: str  # the person's name
    role: str
    kind: str
    text: str

    @property
    def key(self) -> str:
        """The outbox key: one message per person, day and kind, ever."""
        return f"remind:{self.person_id}:{self.round.day.isoformat()}:{self.kind}"


def compute_standings(store: Store, standards: dict[str, Standard], jobs: Jobs):
    """Standings for (person, standard, period) jobs, from their claims in bulk."""
    claims = store.active_claims_of([person_id for person_id, _, _ in jobs])
    return [
        (person_id, standing_from(standards[sid], period, claims.get(person_id, [])))
        for person_id, sid, period in jobs
    ]


class ReminderReplies(Replies):
    """The same templates; hours shown from a cache, since a season's list is long."""

    def __init__(self) -> None:
        super().__init__()
        self.env.filters["h"] = lru_cache(maxsize=4096)(display)


class ReminderBuilder:
    """Builds the messages of some rounds; one per process, like Replies."""

    def __init__(
        self,
        store: Store,
        standards: dict[str, Standard],
        default_standard: str,
        *,
        compute: Compute | None = None,
        replies: Replies | None = None,
    ) -> None:
        self.store = store
        self.standards = standards
        self.default = standards[default_standard]
        self.replies = replies or ReminderReplies()
        self.compute = compute or (
            lambda jobs: compute_standings(store, standards, jobs)
        )

    def build(self, rounds: list[Round], now: datetime) -> list[Reminder]:
        """The rounds' messages at `now`, leaving out who had one that day or later."""
        if not rounds:
            return []
        today = now.astimezone(CHINA).date()
        schools = {school.id: school for school in self.store.all_schools()}
        by_audience = {TEACHERS: {}, REVIEWERS: {}}
        for rnd in rounds:
            by_audience[rnd.audience][rnd.school_id] = rnd
        checkers = self._wanting(CHECKER, by_audience[REVIEWERS])
        approvers = self._wanting(APPROVER, by_audience[REVIEWERS])

        # Approvers count every teacher of their town, reminded today or not.
        towns = {a.town_id for a in approvers}
        counted = set(by_audience[TEACHERS])
        counted |= {s.id for s in schools.values() if s.town_id in towns}
        teachers = self.fresh_teachers(
            None if counted == set(schools) else sorted(counted), today
        )

        logged = self.store.reminders_logged({r.season for r in rounds}, ONCE_A_SEASON)
        reminders = [
            self._teacher(t, by_audience[TEACHERS][t.school_id], logged, today)
            for t in teachers
            if t.school_id in by_audience[TEACHERS]
        ]
        if checkers or approvers:
            reminders += self._reviewers(
                checkers, approvers, by_audience[REVIEWERS], logged, today,
                schools, teachers,
            )  # fmt: skip
        reminders = [r for r in reminders if r is not None]
        logger.info("built %d reminder(s) for %d round(s)", len(reminders), len(rounds))
        return reminders

    def _reviewers(
        self,
        checkers: list[Member],
        approvers: list[Member],
        rounds: dict[int, Round],
        logged: Logged,
        today: date,
        schools: dict,
        teachers: list[Member],
    ) -> list[Reminder | None]:
        """School reviewers with claims waiting; approvers, with their town's rows."""
        waiting = {
            status: self.store.queues_by_school(status)
            for status in (PENDING_CHECK, PENDING_APPROVAL)
        }
        # Nobody reviews their own claims: a reviewer's reminder leaves them out.
        reviewer_ids = [m.id for m in (*checkers, *approvers)]
        own = {
            status: self.store.own_queues(status, reviewer_ids) for status in waiting
        }
        reminders = [
            self._checker(
                c, rounds[c.school_id], logged, today, self._to_check(c, waiting, own)
            )
            for c in checkers
        ]
        tallies = _tallies(teachers)
        for approver in approvers:
            mine = {status: _count(own[status], approver.id) for status in own}
            rows = _town_rows(approver, schools, tallies, waiting, mine)
            reminders.append(
                self._approver(
                    approver, rounds[approver.school_id], logged, today, rows
                )
            )
        return reminders

    def fresh_teachers(self, school_ids: list[int] | None, today: date) -> list[Member]:
        """The teachers of some schools (None: all), each with a current standing."""
        teachers = self.store.members(TEACHER, school_ids)
        jobs = []
        for teacher in teachers:
            standard = self.standard_of(teacher)
            period = _span(standard, today).start.isoformat()
            standing = teacher.standing
            if standing is None or not standing.current(
                standard.id, standard.version, period
            ):
                jobs.append((teacher.id, standard.id, period))
        if not jobs:
            return teachers
        computed = self._refresh(jobs)
        logger.info("worked out %d standing(s) again", len(jobs))
        return [
            replace(t, standing=computed[t.id]) if t.id in computed else t
            for t in teachers
        ]

    def standard_of(self, member: Member) -> Standard:
        """The person's standard, else the school's, else the deployment's default."""
        for sid in (member.standard, member.school_standard):
            if sid in self.standards:
                return self.standards[sid]
        return self.default

    def _refresh(self, jobs: Jobs) -> dict[int, Standing]:
        # Claims are read after the rows are marked: a claim written meanwhile
        # drops the mark (a trigger), and its stale standing is never saved.
        for start in range(0, len(jobs), REFRESH_STEP):
            with self.store.transaction():
                step = jobs[start : start + REFRESH_STEP]
                self.store.mark_standings([person_id for person_id, _, _ in step])
        computed = self.compute(jobs)
        for start in range(0, len(computed), REFRESH_STEP):
            with self.store.transaction():
                self.store.settle_standings(computed[start : start + REFRESH_STEP])
        return dict(computed)

    def _wanting(self, role: str, rounds: dict[int, Round]) -> list[Member]:
        members = self.store.members(role, sorted(rounds)) if rounds else []
        return [m for m in members if m.reachable and m.reminders]

    # --- one person's message -----------------------------------------------------

    def _teacher(
        self, teacher: Member, rnd: Round, logged: Logged, today: date
    ) -> Reminder | None:
        if not (teacher.reachable and teacher.reminders) or _had(teacher, rnd, logged):
            return None
        standing, standard = teacher.standing, self.standard_of(teacher)
        if standing.gap <= 0:
            kind = CONGRATS
        elif standing.only_bonus is not None:
            kind = BONUS
        else:
            kind = GAP
        if kind in ONCE_A_SEASON and _had_this_season(teacher, kind, rnd, logged):
            return None
        rooms = [Room(standard.item(item), hours) for item, hours in standing.rooms]
        bonus = [item for item in standard.items if item.reviewer_range is not None]
        return self._reminder(
            rnd, teacher, kind, today, s=standing, standard=standard, rooms=rooms,
            period=_span(standard, today).label, bonus_item=bonus[0] if bonus else None,
        )  # fmt: skip

    def _to_check(self, checker: Member, waiting: dict, own: dict) -> Queue | None:
        """The claims of the checker's school waiting for a check, but their own."""
        queue = waiting[PENDING_CHECK].get(checker.school_id)
        if queue is None or checker.id not in own[PENDING_CHECK]:
            return queue
        return self.store.queue_without(PENDING_CHECK, checker.school_id, checker.id)

    def _checker(
        self,
        checker: Member,
        rnd: Round,
        logged: Logged,
        today: date,
        queue: Queue | None,
    ) -> Reminder | None:
        if queue is None or _had(checker, rnd, logged):
            return None
        oldest = claim_view(self.store, self.standards, queue.oldest)
        since = datetime.fromisoformat(oldest["claim"].created_at).astimezone(CHINA)
        return self._reminder(
            rnd, checker, CHECK, today, count=queue.count, oldest=oldest,
            waited=(today - since.date()).days,
        )  # fmt: skip

    def _approver(
        self, approver: Member, rnd: Round, logged: Logged, today: date, rows: list
    ) -> Reminder | None:
        if not rows or _had(approver, rnd, logged):
            return None
        return self._reminder(
            rnd, approver, APPROVE, today, rows=rows,
            approving=sum(row.approving for row in rows),
        )  # fmt: skip

    def _reminder(
        self, rnd: Round, member: Member, kind: str, today: date, **values
    ) -> Reminder:
        # Days are counted from the day the person reads it: a message held
        # back by quiet hours is read the next morning.
        reads_on = max(rnd.day, today)
        text = self.replies.render(
            f"remind_{kind}", name=member.name or "", deadline=rnd.deadline,
            days_left=(rnd.deadline - reads_on).days, today=reads_on, **values,
        )  # fmt: skip
        return Reminder(rnd, member.id, member.name or "", member.role, kind, text)


@dataclass(frozen=True)
class SchoolRow:
    """One school's line in an approver's reminder."""

    school: str
    teachers: int
    at_target: int
    checking: int
    approving: int


def _tallies(teachers: list[Member]) -> dict[int, list[int]]:
    """Per school: [teachers, teachers at target]."""
    tallies: dict[int, list[int]] = {}
    for teacher in teachers:
        tally = tallies.setdefault(teacher.school_id, [0, 0])
        tally[0] += 1
        tally[1] += teacher.standing is not None and teacher.standing.gap <= 0
    return tallies


def _town_rows(
    approver: Member, schools: dict, tallies: dict, waiting: dict, mine: dict
) -> list[SchoolRow]:
    """Each school of the approver's town with teachers or waiting claims (but
    the approver's own), in roster order."""
    rows = []
    for school in schools.values():
        if school.town_id != approver.town_id:
            continue
        total, at_target = tallies.get(school.id, (0, 0))
        checking = _count(waiting[PENDING_CHECK], school.id)
        approving = _count(waiting[PENDING_APPROVAL], school.id)
        if school.id == approver.school_id:
            checking -= mine[PENDING_CHECK]
            approving -= mine[PENDING_APPROVAL]
        if total or checking or approving:
            rows.append(SchoolRow(school.name, total, at_target, checking, approving))
    return rows


def _count(queues: dict, key: int) -> int:
    queue = queues.get(key)
    return queue.count if queue else 0


def _had(member: Member, rnd: Round, logged: Logged) -> bool:
    """Whether the person was reminded on the round's day or later (a manual run)."""
    latest = logged.latest.get((member.id, rnd.season.isoformat()), "")
    return latest >= rnd.day.isoformat()


def _had_this_season(member: Member, kind: str, rnd: Round, logged: Logged) -> bool:
    return (member.id, kind, rnd.season.isoformat()) in logged.kinds


_SPANS: dict[tuple[int, date], tuple[Standard, PeriodSpan]] = {}


def _span(standard: Standard, today: date) -> PeriodSpan:
    """The standard's period that holds today, worked out once per day."""
    key = (id(standard), today)
    if key not in _SPANS:
        if len(_SPANS) > 1000:
            _SPANS.clear()
        _SPANS[key] = (standard, standard.period.span_of(today))
    return _SPANS[key][1]
