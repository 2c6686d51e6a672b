"""`web_interface.py user ...` and `web_interface.py token ...`: accounts and API tokens from a shell.

    python web_interface.py user add NAME [--role viewer|operator|admin]
    python web_interface.py user passwd NAME [--role ROLE]
    python web_interface.py user remove NAME
    python web_interface.py user list
    python web_interface.py token add NAME [--role ROLE]       (prints the token once)
    python web_interface.py token import NAME --from FILE [--role ROLE]
    python web_interface.py token revoke ID
    python web_interface.py token list

Passwords are asked twice with getpass on a terminal; a script pipes one line on stdin instead.
Every change goes to the audit log as done by `cli:<login name>`. The files are those of
web.yaml's `security:` section, so a running web app sees the change without a restart.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from solarmon.web.auth.audit import AuditLog
from solarmon.web.auth.files import SecurityFileError
from solarmon.web.auth.roles import ROLES
from solarmon.web.auth.tokens import TokenError, TokenStore
from solarmon.web.auth.users import UserError, UserStore
from solarmon.web.config import WebConfig
from solarmon.web.control import read_token_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the `user` and `token` subcommands to web_interface.py's parser."""
    actions = parser.add_subparsers(dest="area", metavar="{user,token}",
                                    help="manage accounts or API tokens instead of serving")
    user = actions.add_parser("user", help="add, remove or change accounts")
    user_actions = user.add_subparsers(dest="action", required=True)
    for name, text in (("add", "create an account"), ("passwd", "set a new password (and role)")):
        sub = user_actions.add_parser(name, help=text)
        sub.add_argument("name")
        sub.add_argument("--role", choices=ROLES, default="viewer" if name == "add" else None)
    user_actions.add_parser("remove", help="delete an account").add_argument("name")
    user_actions.add_parser("list", help="list the accounts")
    token = actions.add_parser("token", help="create, import, revoke or list API tokens")
    token_actions = token.add_subparsers(dest="action", required=True)
    add = token_actions.add_parser("add", help="create a token and print it once")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="viewer")
    imp = token_actions.add_parser("import", help="store an existing token file's token (hashed)")
    imp.add_argument("name")
    imp.add_argument("--from", dest="source", required=True, help="the old daemon.command_token_file")
    imp.add_argument("--role", choices=ROLES, default="admin")
    token_actions.add_parser("revoke", help="revoke a token at once").add_argument("token_id")
    token_actions.add_parser("list", help="list the tokens")


def read_password(stdin: TextIO) -> str:
    """The new password: asked twice on a terminal, else the first line of stdin."""
    if stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != first:
            raise UserError("the two passwords differ")
        return first
    return stdin.readline().rstrip("\r\n")


def run(args: argparse.Namespace, config: WebConfig, *, stdin: TextIO = sys.stdin,
        out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Carry out one `user` / `token` subcommand; exit status 0 ok, 1 refused, 2 unusable files."""
    sec = config.security
    users = UserStore(config.path(sec.users_file))
    tokens = TokenStore(config.path(sec.token_store))
    audit = AuditLog(config.path(sec.audit_log), max_bytes=int(sec.audit_log_max_mb * 2**20),
                     keep=sec.audit_log_keep)
    who = f"cli:{_login_name()}"
    try:
        if args.area == "user":
            message = _user(args, users, stdin, out)
            target = args.name if args.action != "list" else ""
        else:
            message = _token(args, tokens, who, out)
            target = getattr(args, "name", None) or getattr(args, "token_id", "")
    except (UserError, TokenError) as exc:
        print(f"refused: {exc}", file=err)
        return 1
    except (SecurityFileError, OSError) as exc:
        print(f"error: {exc}", file=err)
        return 2
    if message:
        audit.record(args.area, who=who, via="cli", target=target, detail=message)
        print(f"{args.area} {target}: {message}", file=out)
    return 0


def _user(args: argparse.Namespace, users: UserStore, stdin: TextIO, out: TextIO) -> str:
    """One user subcommand; returns what changed ('' for list)."""
    if args.action == "list":
        for user in users.users():
            print(f"{user.name}\t{user.role}\tchanged {_when(user.changed)}", file=out)
        return ""
    if args.action == "remove":
        users.remove(args.name)
        return "removed"
    if args.action == "add":
        if users.get(args.name) is not None:
            raise UserError(f"user {args.name!r} exists already (use passwd to change the password)")
        user = users.add(args.name, read_password(stdin), args.role)
        return f"added, role {user.role}"
    user = users.change(args.name, password=read_password(stdin), role=args.role)
    return "password changed" + (f", role {user.role}" if args.role else "") + " (signed out everywhere)"


def _token(args: argparse.Namespace, tokens: TokenStore, who: str, out: TextIO) -> str:
    """One token subcommand; returns what changed ('' for list)."""
    if args.action == "list":
        for info in tokens.tokens():
            state = "active" if info.active else f"revoked {_when(info.revoked or 0)}"
            print(f"{info.token_id}\t{info.name}\t{info.role}\t{state}\tby {info.created_by}", file=out)
        return ""
    if args.action == "revoke":
        info = tokens.revoke(args.token_id)
        return f"revoked ({info.name})"
    if args.action == "import":
        secret = read_token_file(Path(args.source))
        info, _ = tokens.create(args.name, args.role, who, secret=secret)
        return (f"imported as {info.token_id}, role {info.role}; now remove daemon.command_token_file "
                "from web.yaml")
    info, token = tokens.create(args.name, args.role, who)
    print(token, file=out)  # the only time it is shown
    return f"created {info.token_id}, role {info.role} (the line above is the token: store it now)"


def _when(ts: float) -> str:
    """A timestamp for people."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _login_name() -> str:
    """Who runs the command (for the audit log)."""
    try:
        return os.getlogin()
    except OSError:
        import pwd

        return pwd.getpwuid(os.getuid()).pw_name
