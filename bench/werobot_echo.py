"""Baseline (b): a WeRoBot echo bot, served as WeRoBot's deployment guide says.

The guide ("部署" → "通过 WSGI HTTP Server 运行 WeRoBot",
https://werobot.readthedocs.io/zh_CN/latest/deploy.html, source
docs/deploy.rst in offu/WeRoBot) says that `robot.wsgi` is a WSGI application
for any WSGI server, and gives the Gunicorn command

    gunicorn robot:robot.wsgi

which the benchmark runs as `python -m gunicorn werobot_echo:robot.wsgi`
(plus `--bind`), with Gunicorn's defaults otherwise.

The token comes from the environment because Gunicorn imports this module by
name and passes it no arguments.
"""

from __future__ import annotations

import os

import werobot

# WeRoBot's default session storage is an SQLite file in the working folder;
# an echo needs no session, so it is switched off rather than left writing.
robot = werobot.WeRoBot(token=os.environ["BENCH_WECHAT_TOKEN"], SESSION_STORAGE=False)


@robot.text
def echo(message):
    return message.content
