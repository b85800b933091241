"""Webhook benchmark (issue 2, item 8): the bot's full path against two baselines.

Each server runs in a process of its own, started here and stopped afterwards,
and one aiohttp client drives them all over 127.0.0.1 with deliveries signed
(and encrypted) beforehand by bot.wechat_sim:

    bot      `python -m bot serve`, a fresh SQLite file; plain, then safe mode
    aiohttp  bench/bare_server.py: checks the signature, answers `success`
    WeRoBot  bench/werobot_echo.py under Gunicorn, as WeRoBot's guide says

    .venv/bin/python bench/bench_webhook.py [--messages N] [--concurrency C]
        [--teachers T] [--time-limit S] [--rounds R] [--only TEXT]

The client keeps C requests in flight (a closed loop), so by Little's law the
mean latency is about C divided by the rate: C sets the latency as much as
the server does.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import math
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import yarl

from bot.config import Config, ServerConfig, WechatConfig
from bot.wechat_sim import (
    REPLY_DEADLINE_SECONDS,
    ReplyError,
    build_request,
    parse_reply,
    sign_query,
)

BENCH_DIR = Path(__file__).resolve().parent
PATH = "/wechat"
APP_ID = "wx0123456789abcdef"

# Issue 2, item 8: the full path in plain mode, on the 2-core machine.
GOAL_RATE = 1000
GOAL_P99_MS = 50

# What teachers type, in rotation.
CLAIMS = (
    "公开课 县级 1次",
    "听课 12节",
    "评课 3次",
    "读书笔记 2篇",
    "教学反思 2篇",
    "集体备课 2次",
)
RECORDED = "已记录"

READY_SECONDS = 20
STOP_SECONDS = 10
SHOWN_ERRORS = 5


@dataclass(frozen=True)
class Delivery:
    """One prebuilt callback POST and the text it carries."""

    url: yarl.URL
    params: dict[str, str]
    body: bytes
    text: str


@dataclass(frozen=True)
class Target:
    """A server to measure: how to start it and what a good answer is."""

    server: str
    mode: str
    argv: Callable[[Config, Path], list[str]]
    # (config, delivery, status, body) -> why the answer is wrong, or None.
    check: Callable[[Config, Delivery, int, bytes], str | None]
    # Printed once the server (all its workers) listens; None: the first answer.
    ready_line: str | None = None


@dataclass
class Result:
    """One row of the table: a server's timed run and what went wrong in it."""

    server: str
    mode: str
    messages: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    # msgs/s of every round of this server, when it ran several.
    rates: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and len(self.latencies) == self.messages

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def percentile_ms(self, q: float) -> float:
        """The nearest-rank percentile of the latencies, in milliseconds."""
        ordered = sorted(self.latencies)
        rank = max(math.ceil(q / 100 * len(ordered)), 1)
        return ordered[rank - 1] * 1000


# --- servers -------------------------------------------------------------------


def bot_argv(config: Config, workdir: Path, workers: int = 1) -> list[str]:
    path = workdir / "config.toml"
    toml = bot_toml(config, workdir / "xueshi.db", workers)
    path.write_text(toml, encoding="utf-8")
    return [sys.executable, "-m", "bot", "serve", "--config", str(path)]


def bot_toml(config: Config, database: Path, workers: int = 1) -> str:
    wechat = config.wechat
    server = {"host": "127.0.0.1", "port": config.server.port, "path": PATH}
    values = {
        "server": {**server, "workers": workers},
        "storage": {"database": str(database)},
        "wechat": {
            "mode": wechat.mode,
            "token": wechat.token,
            "app_id": wechat.app_id,
            "encoding_aes_key": wechat.encoding_aes_key,
        },
    }
    # JSON strings and numbers are valid TOML values.
    return "".join(
        f"[{section}]\n"
        + "".join(f"{key} = {json.dumps(value)}\n" for key, value in table.items())
        for section, table in values.items()
    )


def bare_argv(config: Config, workdir: Path) -> list[str]:
    return [
        sys.executable,
        str(BENCH_DIR / "bare_server.py"),
        "--port",
        str(config.server.port),
        "--token",
        config.wechat.token,
        "--path",
        PATH,
    ]


def werobot_argv(config: Config, workdir: Path) -> list[str]:
    # The command from WeRoBot's deployment guide (see werobot_echo.py), bound
    # to the benchmark's port; the control socket goes to the temporary folder
    # instead of ~/.gunicorn.
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "werobot_echo:application",
        "--bind",
        f"127.0.0.1:{config.server.port}",
        "--chdir",
        str(BENCH_DIR),
        "--control-socket",
        str(workdir / "gunicorn.ctl"),
    ]


def expect_recorded(
    config: Config, delivery: Delivery, status: int, body: bytes
) -> str | None:
    try:
        content = _content(config, delivery, status, body)
    except ReplyError as exc:
        return str(exc)
    return None if RECORDED in content else f"no {RECORDED}: {content[:60]!r}"


def expect_success(
    config: Config, delivery: Delivery, status: int, body: bytes
) -> str | None:
    if status != 200:
        return f"HTTP {status}: {body[:80]!r}"
    return None if body == b"success" else f"answer {body[:80]!r}"


def expect_echo(
    config: Config, delivery: Delivery, status: int, body: bytes
) -> str | None:
    try:
        content = _content(config, delivery, status, body)
    except ReplyError as exc:
        return str(exc)
    return None if content == delivery.text else f"echo {content[:60]!r}"


def _content(config: Config, delivery: Delivery, status: int, body: bytes) -> str:
    """The reply's Content; ReplyError for an error status or a bare `success`."""
    if status != 200:
        raise ReplyError(f"HTTP {status}: {body[:80]!r}")
    content = parse_reply(config, delivery.params, body)
    if content is None:
        raise ReplyError("answered `success`, expected a reply")
    return content


BOT_READY = "listening on"
TARGETS = (
    Target("bot (full path)", "plain", bot_argv, expect_recorded, BOT_READY),
    Target("bot (full path)", "safe", bot_argv, expect_recorded, BOT_READY),
    # [server] workers = 2: one webhook process per core on a shared port.
    Target(
        "bot, 2 workers",
        "plain",
        partial(bot_argv, workers=2),
        expect_recorded,
        BOT_READY,
    ),
    Target(
        "bot, 2 workers",
        "safe",
        partial(bot_argv, workers=2),
        expect_recorded,
        BOT_READY,
    ),
    Target("aiohttp bare", "plain", bare_argv, expect_success),
    Target("WeRoBot + Gunicorn", "plain", werobot_argv, expect_echo),
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.asynccontextmanager
async def running(
    session: aiohttp.ClientSession,
    config: Config,
    argv: list[str],
    log: Path,
    ready_line: str | None = None,
) -> AsyncIterator[str]:
    """Run `argv` until the block ends; yield the callback URL once it answers."""
    env = {**os.environ, "BENCH_WECHAT_TOKEN": config.wechat.token}
    with log.open("wb") as out:
        # A session of its own: a Ctrl-C here reaches only us, and we stop it.
        process = subprocess.Popen(
            argv,
            cwd=log.parent,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{config.server.port}{PATH}"
        await _wait_ready(session, config, url, process, log, ready_line)
        yield url
    finally:
        await _stop(process)


async def _wait_ready(
    session: aiohttp.ClientSession,
    config: Config,
    url: str,
    process: subprocess.Popen,
    log: Path,
    ready_line: str | None,
) -> None:
    """Poll the signed GET verification until it echoes (and the log shows
    `ready_line`), the process dies, or time is up."""
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited ({process.returncode}):\n{_tail(log)}")
        params = sign_query(
            config, "o_ready", timestamp=str(int(time.time())), nonce="1"
        )
        params["echostr"] = "ready"
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            timeout = aiohttp.ClientTimeout(total=1)
            async with session.get(url, params=params, timeout=timeout) as response:
                echoed = response.status == 200 and await response.text() == "ready"
            # `bot serve` prints its ready line once every worker listens.
            if echoed and (not ready_line or ready_line in _log_text(log)):
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"server not ready after {READY_SECONDS} s:\n{_tail(log)}")


async def _stop(process: subprocess.Popen) -> None:
    """Ctrl-C for a clean exit; kill its process group if it does not go."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    deadline = time.monotonic() + STOP_SECONDS
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    # Gunicorn's workers share the group; nothing may outlive the benchmark.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _log_text(log: Path) -> str:
    return log.read_text("utf-8", "replace")


def _tail(log: Path, lines: int = 15) -> str:
    text = log.read_text(encoding="utf-8", errors="replace")
    return "\n".join("    " + line for line in text.splitlines()[-lines:])


# --- client --------------------------------------------------------------------


def build_deliveries(
    config: Config, url: str, count: int, teachers: int, first_msg_id: int
) -> list[Delivery]:
    """`count` signed deliveries, teachers in rotation, each MsgId new."""
    deliveries = []
    for k in range(count):
        user = f"o_bench_teacher_{k % teachers:012d}"
        # Shift the claim each round, so a teacher does not repeat one claim.
        text = CLAIMS[(k + k // teachers) % len(CLAIMS)]
        params, body = build_request(config, user, text=text, msg_id=first_msg_id + k)
        target = yarl.URL(f"{url}?{urlencode(params)}", encoded=True)
        deliveries.append(Delivery(target, params, body, text))
    return deliveries


async def drive(
    session: aiohttp.ClientSession,
    deliveries: Sequence[Delivery],
    concurrency: int,
    deadline: float,
) -> tuple[float, list[float | None], list[tuple[int, bytes] | str]]:
    """Post everything with `concurrency` in flight; (seconds, latencies, answers).

    An answer is (status, body) or the reason there is none. Nothing is sent
    after `deadline` (a monotonic time); those count as unanswered.
    """
    latencies: list[float | None] = [None] * len(deliveries)
    answers: list[tuple[int, bytes] | str] = ["not sent"] * len(deliveries)
    pending = iter(range(len(deliveries)))
    timeout = aiohttp.ClientTimeout(total=REPLY_DEADLINE_SECONDS)
    headers = {"Content-Type": "text/xml"}

    async def worker() -> None:
        for i in pending:
            if time.monotonic() > deadline:
                answers[i] = "not sent within the time limit"
                continue
            delivery = deliveries[i]
            started = time.perf_counter()
            try:
                async with session.post(
                    delivery.url, data=delivery.body, headers=headers, timeout=timeout
                ) as response:
                    answers[i] = (response.status, await response.read())
            except (aiohttp.ClientError, TimeoutError) as exc:
                answers[i] = f"{type(exc).__name__}: {exc}"
                continue
            latencies[i] = time.perf_counter() - started

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started, latencies, answers


async def measure(
    session: aiohttp.ClientSession, target: Target, args: argparse.Namespace
) -> Result:
    """Start the target's server, warm it up, time `args.messages`, stop it."""
    config = make_config(target.mode, free_port())
    result = Result(target.server, target.mode, args.messages)
    with tempfile.TemporaryDirectory(prefix="xueshi-bench-") as tmp:
        workdir = Path(tmp)
        argv = target.argv(config, workdir)
        try:
            log = workdir / "server.log"
            async with running(session, config, argv, log, target.ready_line) as url:
                warmup = max(args.messages // 10, 50)
                batches = build_deliveries(
                    config, url, warmup + args.messages, args.teachers, 10**15
                )
                deadline = time.monotonic() + args.time_limit
                await drive(session, batches[:warmup], args.concurrency, deadline)
                timed = batches[warmup:]
                seconds, latencies, answers = await drive(
                    session, timed, args.concurrency, deadline
                )
        except RuntimeError as exc:
            result.errors.append(str(exc))
            return result

    result.seconds = seconds
    result.latencies = [t for t in latencies if t is not None]
    for i, (delivery, answer) in enumerate(zip(timed, answers, strict=True)):
        problem = (
            answer
            if isinstance(answer, str)
            else target.check(config, delivery, *answer)
        )
        if problem:
            result.errors.append(f"#{i}: {problem}")
    return result


def make_config(mode: str, port: int) -> Config:
    # A 43-character EncodingAESKey is 32 random bytes in base64 without the "=".
    aes_key = base64.b64encode(secrets.token_bytes(32)).decode().rstrip("=")
    wechat = WechatConfig(
        mode=mode,
        token=secrets.token_hex(16),
        app_id=APP_ID,
        encoding_aes_key=aes_key,
    )
    return Config(server=ServerConfig(port=port, path=PATH), wechat=wechat)


# --- report --------------------------------------------------------------------


def print_environment(args: argparse.Namespace) -> None:
    print(
        f"Python {platform.python_version()} ({platform.python_implementation()}), "
        f"{os.cpu_count()} CPUs, {platform.system()} {platform.machine()}, "
        f"aiohttp {aiohttp.__version__}"
    )
    # Other work on the machine takes cores from client and server alike.
    load = os.getloadavg()[0]
    print(
        f"{args.messages} messages per server and round after a warm-up, "
        f"{args.concurrency} in flight, {args.teachers} teachers, loopback; "
        f"load average {load:.2f} at the start"
    )
    print(
        f"{args.rounds} round(s), servers in turn; each row is a server's median "
        "round, `range` the lowest and highest msgs/s of its rounds"
    )
    print()


def median_round(rounds: Sequence[Result]) -> Result:
    """The round with the median rate (any failed round stands for all), with
    every round's rate in `rates`."""
    failed = [r for r in rounds if not r.ok]
    if failed:
        chosen = failed[0]
        chosen.errors = [e for r in failed for e in r.errors]
        return chosen
    ordered = sorted(rounds, key=lambda r: r.rate)
    chosen = ordered[(len(ordered) - 1) // 2]
    chosen.rates = [r.rate for r in rounds]
    return chosen


def print_table(results: Sequence[Result]) -> None:
    header = ("server", "mode", "messages", "msgs/s", "range", "p50 ms", "p99 ms")
    header += ("errors",)
    print(f"{header[0]:<20}{header[1]:<7}{header[2]:>10}{header[3]:>9}{header[4]:>12}"
          + "".join(f"{h:>9}" for h in header[5:]))  # fmt: skip
    for r in results:
        if r.ok:
            spread = f"{min(r.rates):.0f}-{max(r.rates):.0f}" if r.rates else ""
            figures = (f"{r.rate:.0f}", spread, f"{r.percentile_ms(50):.1f}")
            figures += (f"{r.percentile_ms(99):.1f}",)
        else:
            # A run with failures has no rate worth printing.
            figures = ("-", "", "-", "-")
        print(f"{r.server:<20}{r.mode:<7}{r.messages:>10}{figures[0]:>9}"
              f"{figures[1]:>12}{figures[2]:>9}{figures[3]:>9}"
              f"{len(r.errors):>9}")  # fmt: skip
    for r in results:
        for error in r.errors[:SHOWN_ERRORS]:
            print(f"  {r.server} {r.mode}: {error}")
        if len(r.errors) > SHOWN_ERRORS:
            print(f"  {r.server} {r.mode}: ... {len(r.errors) - SHOWN_ERRORS} more")


def verdict(result: Result) -> str:
    goal = f"goal ≥{GOAL_RATE} msg/s with p99 < {GOAL_P99_MS} ms, plain, full path"
    if not result.ok:
        return f"NOT MET ({goal}): the run had {len(result.errors)} error(s)"
    rate, p99 = result.rate, result.percentile_ms(99)
    met = rate >= GOAL_RATE and p99 < GOAL_P99_MS
    word = "met" if met else "NOT MET"
    return f"{word} ({goal}): {rate:.0f} msg/s, p99 {p99:.1f} ms"


# --- command line ----------------------------------------------------------------


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=_positive, default=3000)
    parser.add_argument("--concurrency", type=_positive, default=16)
    parser.add_argument("--teachers", type=_positive, default=500)
    parser.add_argument(
        "--rounds",
        type=_positive,
        default=3,
        help="runs per server; the table shows the median one (default 3)",
    )
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="measure only the servers whose name and mode contain TEXT "
        '(such as "bot" or "2 workers plain")',
    )
    parser.add_argument(
        "--time-limit",
        type=_positive,
        default=25,
        help="seconds per server for warm-up and timed requests (default 25)",
    )
    return parser.parse_args(argv)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}")
    return value


async def run(args: argparse.Namespace) -> list[Result]:
    """Each server's median round; the servers take turns, round after round,
    so that a busy spell of the machine falls on all of them alike."""
    targets = [
        target
        for target in TARGETS
        if not args.only or args.only in f"{target.server} {target.mode}"
    ]
    rounds: dict[int, list[Result]] = {n: [] for n in range(len(targets))}
    connector = aiohttp.TCPConnector(limit=args.concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        for _ in range(args.rounds):
            for n, target in enumerate(targets):
                rounds[n].append(await measure(session, target, args))
    return [median_round(rounds[n]) for n in range(len(targets))]


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    print_environment(args)
    try:
        results = asyncio.run(run(args))
    except KeyboardInterrupt:
        # The servers were stopped on the way out.
        print("interrupted")
        return 130
    print_table(results)
    print()
    for result in results:
        if result.mode == "plain" and result.server.startswith("bot"):
            print(f"verdict, {result.server}:", verdict(result))
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
