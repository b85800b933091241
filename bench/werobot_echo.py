"""Baseline (b): a WeRoBot echo bot, served as WeRoBot's deployment guide says.

The guide ("部署" → "通过 WSGI HTTP Server 运行 WeRoBot",
https://werobot.readthedocs.io/zh_CN/latest/deploy.html, source
docs/deploy.rst in offu/WeRoBot) says that `robot.wsgi` is a WSGI application
for any WSGI server, and gives the Gunicorn command

    gunicorn robot:robot.wsgi

Gunicorn 20 and later refuse a dotted name there ("Failed to parse
'robot.wsgi' as an attribute name or function call", benoitc/gunicorn#2213),
so this module names the same application `application`, and the benchmark
runs `python -m gunicorn werobot_echo:application --bind ...` with Gunicorn's
defaults otherwise (one synchronous worker).

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


application = robot.wsgi
