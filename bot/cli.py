"""Command line: serve, chat, send, roster, prompts, remind, outbox, standards."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import multiprocessing
import socket
import sys
import time
from pathlib import Path

from bot.config import ConfigError, load_config
from scoring.standard import StandardError

logger = logging.getLogger(__name__)

# How long `serve` waits for each extra worker of `[server] workers` to listen.
WORKER_START_SECONDS = 30
# Workers started again after one stopped, at most, while `serve` runs.
WORKER_RESTARTS_MOST = 10

# Commands whose output is for a person or a script: only warnings on stderr.
_QUIET = {
    "chat": logging.WARNING,
    "standards": logging.WARNING,
    "roster": logging.WARNING,
    "prompts": logging.WARNING,
    "outbox": logging.WARNING,
    "remind": logging.WARNING,
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["send"]:  # its options are its own (see bot.wechat_sim)
        from bot.wechat_sim import send_main

        return send_main(argv[1:])
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else _QUIET.get(args.command, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except ConfigError as exc:
        print(f"配置错误 / config error: {exc}", file=sys.stderr)
        return 2
    except StandardError as exc:
        print(f"standard error: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description="学时助手")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the WeChat webhook server")
    serve.add_argument("--config", type=Path)
    serve.set_defaults(run=_serve)

    chat = commands.add_parser("chat", help="chat locally as one teacher")
    chat.add_argument("--config", type=Path)
    chat.add_argument(
        "--json", action="store_true", help="one message per line in, JSON out"
    )
    chat.add_argument(
        "--user", default="本地教师", help="the teacher's name in the simulator"
    )
    chat.add_argument(
        "--standard", type=_standard_id, help="standard id, e.g. capped-50 or annual-80"
    )
    chat.add_argument("--db", type=Path, help="SQLite file (default: from config)")
    chat.set_defaults(run=_chat)

    commands.add_parser("send", help="send a signed message to a running server (-h)")

    roster = commands.add_parser(
        "roster", help="import the roster; invite codes; unbind"
    )
    roster_do = roster.add_subparsers(dest="action", required=True)
    load = roster_do.add_parser("import", help="import a CSV or XLSX roster")
    load.add_argument("file", type=Path)
    load.add_argument("--config", type=Path)
    load.add_argument(
        "--switch-standard",
        action="store_true",
        help="let a 标准 move a school that has claims to another standard; "
        "its earlier claims stay under the old one",
    )
    load.set_defaults(run=_roster_import)
    invites = roster_do.add_parser("invites", help="print each school's invite code")
    invites.add_argument("--config", type=Path)
    invites.set_defaults(run=_roster_invites)
    unbind = roster_do.add_parser("unbind", help="detach a person's WeChat")
    unbind.add_argument("name")
    unbind.add_argument("school")
    unbind.add_argument("--config", type=Path)
    unbind.set_defaults(run=_roster_unbind)

    audit = commands.add_parser("audit", help="who decided what: the audit log")
    audit.add_argument(
        "--claim", type=int, help="only this claim (the number reviewers see)"
    )
    audit.add_argument("--config", type=Path)
    audit.set_defaults(run=_audit)

    prompts = commands.add_parser("prompts", help="queue batched review prompts now")
    prompts.add_argument("--config", type=Path)
    prompts.set_defaults(run=_prompts)

    _remind_parser(commands)

    outbox = commands.add_parser("outbox", help="count queued, sent and failed pushes")
    outbox.add_argument("--config", type=Path)
    outbox.set_defaults(run=_outbox)

    standards = commands.add_parser("standards", help="check or show standard files")
    which = standards.add_subparsers(dest="action", required=True)
    check = which.add_parser("check", help="check a standard file")
    check.add_argument("file", type=Path)
    check.set_defaults(run=_standards_check)
    show = which.add_parser("show", help="print a standard as a table")
    show.add_argument("id")
    show.add_argument("--config", type=Path)
    show.set_defaults(run=_standards_show)
    rescore = which.add_parser(
        "rescore", help="score the current period again under the current file"
    )
    rescore.add_argument("id")
    rescore.add_argument("--config", type=Path)
    rescore.add_argument("--db", type=Path, help="SQLite file (default: from config)")
    rescore.add_argument(
        "--on", type=_iso_day, help="a day in the period, YYYY-MM-DD (default: today)"
    )
    rescore.add_argument("--apply", action="store_true", help="write and record it")
    rescore.set_defaults(run=_standards_rescore)
    return parser


def _serve(args) -> int:
    from bot.app import run_server
    from bot.outbox import push_configured
    from bot.runtime import build_conversation

    config = load_config(args.config)
    conversation = build_conversation(config)
    wechat = config.wechat
    helpers: list = []
    listening: list[str] = []

    def ready(base_url: str) -> None:
        listening.append(base_url)
        # Only once this process holds the port, or each worker fails on it too;
        # announced once every worker listens, so that no client finds only one.
        helpers.extend(_start_workers(config))
        for process in list(helpers):
            _watch_worker(config, process, helpers)
        print(f"学时助手 listening on {base_url}{config.server.path}", flush=True)
        print(f"  mode={wechat.mode} standard={config.scoring.standard} "
              f"workers={config.server.workers} "
              f"database={config.storage.database}")  # fmt: skip
        if config.dev_token:
            print(
                f"  development token: {wechat.token}  (set [wechat] token for production)"
            )
        if not push_configured(config):
            print("  pushes: off (set [wechat] app_id and app_secret, or [wecom]); "
                  "prompts, decisions and reminders wait in the outbox")  # fmt: skip
        where = f" --config {args.config}" if args.config else ""
        print(
            f"  try it: {sys.executable} -m bot send{where} '公开课 县级 1次'",
            flush=True,
        )

    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is the way to stop
            asyncio.run(run_server(config, conversation, on_ready=ready))
    except OSError as exc:
        problem = None if listening else _listen_problem(config.server, exc)
        if problem is None:
            raise
        raise ConfigError(problem) from None
    finally:
        for process in helpers:
            process.terminate()
            process.join(timeout=10)
    return 0


def _listen_problem(server, exc: OSError) -> str | None:
    """The setting to blame when the server cannot listen; None if it is not that."""
    where = f"{server.host}:{server.port}"
    if isinstance(exc, socket.gaierror):
        return (
            f"server.host: cannot find the address of {server.host!r} ({exc.strerror})"
        )
    if exc.errno == errno.EADDRINUSE:
        return f"server.port: {server.port} is already in use ({where})"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"server.host: {server.host} is not an address of this machine"
    if exc.errno == errno.EACCES:
        return f"server.port: not allowed to listen on {where} ({exc.strerror})"
    return None


def _start_workers(config) -> list:
    """The extra webhook processes of `[server] workers`; they send no pushes."""
    import signal

    if config.server.workers == 1:
        return []
    # A plain `kill` stops the workers too, through the cleanup above.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    started = [
        _spawn_worker(config, f"worker-{n}") for n in range(1, config.server.workers)
    ]
    deadline = time.monotonic() + WORKER_START_SECONDS
    for process in started:
        while not process.ready.wait(0.1):
            if not process.is_alive() or time.monotonic() > deadline:
                for other in started:
                    other.terminate()
                raise ConfigError(
                    f"server.workers: {process.name} did not start listening; "
                    "see its log above"
                )
    return started


def _spawn_worker(config, name: str):
    """A started worker process; its `ready` event is set once it listens."""
    spawn = multiprocessing.get_context("spawn")
    ready = spawn.Event()
    process = spawn.Process(
        target=_worker, args=(config, ready), daemon=True, name=name
    )
    process.start()
    # The event must outlive the start: the child opens it by name.
    process.ready = ready
    return process


def _watch_worker(config, process, helpers: list) -> None:
    """Start another worker when one stops while `serve` runs (a crash, a kill)."""
    loop = asyncio.get_running_loop()

    def stopped() -> None:
        loop.remove_reader(process.sentinel)
        process.join(timeout=1)
        if len(helpers) >= WORKER_RESTARTS_MOST + config.server.workers - 1:
            logger.error("%s stopped (exit code %s); not started again: it "
                         "stopped too often", process.name, process.exitcode)  # fmt: skip
            return
        logger.error("%s stopped (exit code %s); starting another",
                     process.name, process.exitcode)  # fmt: skip
        replacement = _spawn_worker(config, process.name)
        helpers.append(replacement)
        _watch_worker(config, replacement, helpers)

    loop.add_reader(process.sentinel, stopped)


def _worker(config, ready) -> None:
    from bot.runtime import build_conversation

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # Ctrl-C reaches the workers too: they stop quietly, whenever it comes.
    with contextlib.suppress(KeyboardInterrupt):
        try:
            conversation = build_conversation(config)
        except (ConfigError, StandardError) as exc:
            print(f"配置错误 / config error: {exc}", file=sys.stderr)
            sys.exit(2)
        asyncio.run(_serve_while_parent_lives(config, conversation, ready))


async def _serve_while_parent_lives(config, conversation, ready) -> None:
    """Serve until cancelled, or until the `serve` process that started us is gone
    (killed with -9, say): a worker left alone would keep the port."""
    from bot.app import run_server

    server = asyncio.ensure_future(
        run_server(
            config, conversation, on_ready=lambda _: ready.set(), background=False
        )
    )
    parent = multiprocessing.parent_process()
    if parent is not None:
        asyncio.get_running_loop().add_reader(parent.sentinel, server.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await server


def _chat(args) -> int:
    from bot import chat
    from bot.runtime import build_conversation

    config = load_config(args.config)
    conversation = build_conversation(config, args.standard, args.db)
    if args.standard:
        conversation.use_standard(chat.CHANNEL, args.user, args.standard)
    return chat.main(conversation, args.user, args.json)


def _standards_check(args) -> int:
    from scoring.standard import load_standard

    try:
        standard = load_standard(args.file)
    except StandardError as exc:
        print(f"{exc.source}: {len(exc.problems)} problem(s)")
        for problem in exc.problems:
            print(f"  - {problem}")
        return 1
    problems = _standards_example_problems(standard)
    if problems:
        print(f"{args.file}: {len(problems)} problem(s)")
        for problem in problems:
            print(f"  - {problem}")
        return 1
    items = len(standard.items)
    print(f"{args.file}: ok — {standard.id} {standard.version}, {items} items")
    return 0


def _standards_example_problems(standard) -> list[str]:
    """Each item's example must read as that item and score: teachers copy them."""
    from datetime import date

    from scoring.engine import ScoringError, score_claim
    from scoring.parser import Parser

    parser = Parser(standard)
    problems = []
    for item in standard.items:
        if not item.example:
            continue
        where = f"[[item]] {item.id} example {_shortened(item.example)!r}"
        try:
            claims = parser.parse(item.example, date.today()).claims
        except ValueError as exc:  # such as a number past int()'s limit on digits
            problems.append(f"{where}: the parser fails on it ({exc})")
            continue
        read = [c.facts.item for c in claims]
        if read != [item.id]:
            problems.append(
                f"{where}: is read as {read or 'nothing'}, not as this item"
            )
            continue
        try:
            score_claim(standard, claims[0].facts)
        except ScoringError as exc:
            problems.append(f"{where}: {exc}")
    return problems


def _shortened(text: str, most: int = 60) -> str:
    """Text cut for a one-line report: an example may hold thousands of digits."""
    return text if len(text) <= most else text[: most - 1] + "…"


def _standards_show(args) -> int:
    from handlers.replies import Replies
    from scoring.standard import load_standards

    config = load_config(args.config)
    standards = load_standards(config.scoring.standards_dir)
    if args.id not in standards:
        print(f"unknown standard {args.id!r}; known: {', '.join(sorted(standards))}")
        return 1
    print(Replies().render("standard_table", standard=standards[args.id]))
    return 0


def _standard_id(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(
            "expected a standard id, such as capped-50, got an empty one"
        )
    return text


def _iso_day(text: str) -> str:
    """The text of a day written YYYY-MM-DD, once it is a real day."""
    from datetime import date

    try:
        date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a day as YYYY-MM-DD, got {text!r}"
        ) from None
    return text


def _standards_rescore(args) -> int:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from bot import rescore
    from scoring.standard import load_standards
    from storage.store import Store

    config = load_config(args.config)
    standards = load_standards(config.scoring.standards_dir)
    if args.id not in standards:
        print(f"unknown standard {args.id!r}; known: {', '.join(sorted(standards))}")
        return 1
    standard = standards[args.id]
    china_today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    day = date.fromisoformat(args.on) if args.on else china_today
    span = standard.period.span_of(day)
    store = Store(args.db or config.storage.database)
    try:
        teachers = rescore.plan(store, standard, span.start.isoformat())
        _standards_rescore_report(standard, span.label, teachers)
        if args.apply and any(t.changed for t in teachers):
            run = rescore.apply(store, standard, span.start.isoformat(), teachers)
            print(f"applied and recorded as rescoring #{run}")
        elif any(t.changed for t in teachers):
            print("nothing written; run again with --apply to write these changes")
    finally:
        store.close()
    return 1 if any(t.problem for t in teachers) else 0


def _standards_rescore_report(standard, label: str, teachers) -> None:
    from scoring.numbers import display

    changed = [t for t in teachers if t.changed]
    print(f"{standard.id} version {standard.version}, {label}: "
          f"{len(teachers)} teacher(s), {len(changed)} with changes")  # fmt: skip
    for t in teachers:
        who = f"#{t.person_id} {t.name or ''}".strip()
        if t.problem:
            print(f"  {who}: cannot rescore — {t.problem}")
            continue
        if not t.changed:
            continue
        delta = t.after - t.before
        sign = "+" if delta >= 0 else "-"
        claims = sum(c.changed for c in t.claims)
        print(f"  {who}: {display(t.before)} → {display(t.after)} {standard.unit} "
              f"({sign}{display(abs(delta))}; {claims} claim(s); "
              f"was version {', '.join(t.old_versions)})")  # fmt: skip


def _open_store(args):
    from bot.runtime import open_store
    from scoring.standard import load_standards

    config = load_config(args.config)
    return (
        config,
        open_store(config.storage.database, "storage.database"),
        load_standards(config.scoring.standards_dir),
    )


def _roster_import(args) -> int:
    from bot.roster import RosterError, import_roster
    from handlers.replies import Replies

    _, store, standards = _open_store(args)
    try:
        report = import_roster(
            store, args.file, set(standards), switch_standard=args.switch_standard
        )
    except RosterError as exc:
        print(f"roster error: {exc}", file=sys.stderr)
        return 2
    finally:
        store.close()
    print(Replies().render("roster_report", report=report, path=args.file))
    return 1 if report.rejected else 0


def _roster_invites(args) -> int:
    from handlers.replies import Replies

    _, store, _ = _open_store(args)
    schools = store.all_schools()
    store.close()
    print(Replies().render("roster_invites", schools=schools))
    return 0


def _roster_unbind(args) -> int:
    from handlers.replies import Replies

    _, store, _ = _open_store(args)
    with store.transaction():
        schools = store.schools_matching(args.school)
        people = (
            store.people_named(args.name, [s.id for s in schools]) if schools else []
        )
        removed = store.unbind(people[0]["id"]) if len(people) == 1 else 0
    store.close()
    print(Replies().render("roster_unbound", name=args.name, school=args.school,
                           found=len(people), removed=removed))  # fmt: skip
    return 0 if len(people) == 1 else 1


def _prompts(args) -> int:
    from handlers.prompts import queue_prompts
    from handlers.replies import Replies

    _, store, standards = _open_store(args)
    count = queue_prompts(store, standards, Replies())
    store.close()
    print(f"queued {count} review prompt(s)")
    return 0


def _remind_parser(commands) -> None:
    remind = commands.add_parser(
        "remind", help="queue deadline reminders now, or list them (--dry-run)"
    )
    remind.add_argument("--config", type=Path)
    remind.add_argument(
        "--dry-run", action="store_true", help="list who would get what; queue nothing"
    )
    remind.add_argument(
        "--at",
        type=_china_moment,
        help='with --dry-run: "YYYY-MM-DD HH:MM", China time',
    )
    remind.add_argument(
        "--json", action="store_true", help='one {"to", "role", "text"} per line'
    )
    remind.set_defaults(run=_remind)


def _china_moment(text: str):
    from bot.scheduler import china_moment

    try:
        return china_moment(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected YYYY-MM-DD HH:MM, got {text!r}"
        ) from None


def _remind(args) -> int:
    import json

    from bot.outbox import push_configured
    from bot.scheduler import CHINA, remind_now

    if args.at and not args.dry_run:
        print("--at goes with --dry-run: reminders are queued now", file=sys.stderr)
        return 2
    config = load_config(args.config)
    run = remind_now(config, args.at, dry_run=args.dry_run)
    if not args.dry_run and not push_configured(config):
        print("no [push] route is configured: the reminders wait in the outbox",
              file=sys.stderr)  # fmt: skip
    if args.json:
        for r in run.reminders:
            print(json.dumps({"to": r.to, "role": r.role, "text": r.text},
                             ensure_ascii=False))  # fmt: skip
        return 0
    leave = run.leave_at.astimezone(CHINA)
    done = "would queue" if args.dry_run else f"queued {run.queued} of"
    print(f"{done} {len(run.reminders)} reminder(s), leaving {leave:%Y-%m-%d %H:%M} "
          "China time")  # fmt: skip
    for r in run.reminders:
        print(f"\n→ {r.to}（{r.role}）\n{r.text}")
    return 0


def _outbox(args) -> int:
    from storage.store import Store

    config = load_config(args.config)
    store = Store(config.storage.database)
    try:
        counts = store.outbox_counts()
    finally:
        store.close()
    for state, count in counts.items():
        print(f"{state:<12} {count:>6}")
    return 0


def _audit(args) -> int:
    from handlers.replies import Replies

    _, store, _ = _open_store(args)
    decisions = store.decisions(args.claim)
    store.close()
    print(Replies().render("audit", decisions=decisions))
    return 0
