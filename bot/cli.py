"""`sawt`: the project's command line. `main()` only reads the settings once and dispatches."""
from __future__ import annotations

import argparse
import logging
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence

from bot.settings import PROJECT_ROOT, Settings

Command = Callable[[argparse.Namespace, Settings], int]


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.supervisor import run_all

    return run_all(settings)


def cmd_gateway(args: argparse.Namespace, settings: Settings) -> int:
    from bot.gateway import run_gateway

    run_gateway(settings)
    return 0


def cmd_actions(args: argparse.Namespace, settings: Settings) -> int:
    from urllib.parse import urlparse

    from rasa_sdk.endpoint import create_app
    from rasa_sdk.plugin import plugin_manager

    import actions.common
    from bot.db.session import Database

    actions.common.configure(Database(settings.database_url), settings)
    app = create_app("actions")
    # Sanic closes idle connections after 5 s while Rasa's client keeps them for reuse: under
    # load a custom action then failed with "Cannot write to closing transport" (10-15 % of
    # turns in `make bench`). The server now outlives the client's 15 s keep-alive.
    app.config.KEEP_ALIVE_TIMEOUT = 120
    plugin_manager().hook.attach_sanic_app_extensions(app=app)
    url = urlparse(settings.action_server_url)
    app.run(url.hostname or "127.0.0.1", settings.action_server_port, workers=1, access_log=False)
    return 0


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from bot.training import train

    config = Path(args.config) if args.config else settings.rasa_config
    out = Path(args.out) if args.out else settings.models_dir
    model = train(config, out, force=args.force)
    print(model)
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.nlu_eval import evaluate
    from bot.training import train

    model = Path(args.model) if args.model else train(settings.rasa_config, settings.models_dir)
    evaluate(model, PROJECT_ROOT / "tests" / "nlu", Path(args.out))
    return 0


def cmd_seed(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import prepare
    from bot.db.session import Database

    database = Database(settings.database_url)
    created = prepare(database)
    print("seeded" if created else "already seeded: nothing to do")
    return 0


def cmd_db_upgrade(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.migrate import upgrade
    from bot.db.session import Database

    upgrade(Database(settings.database_url), args.revision)
    return 0


def cmd_lookups(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.lookups import write_lookups
    from bot.db.migrate import prepare
    from bot.db.session import Database

    database = Database(settings.database_url)
    prepare(database)
    for path in write_lookups(database, settings, PROJECT_ROOT / "nlu" / "lookups"):
        print(path)
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from bot.ask import ask_once

    return ask_once(settings, args.text, args.sender)


def cmd_parse(args: argparse.Namespace, settings: Settings) -> int:
    from bot.parse import parse_lines

    texts = [args.text] if args.text is not None else (line.rstrip("\n") for line in sys.stdin)
    parse_lines(settings, texts, sys.stdout)
    return 0


def cmd_token(args: argparse.Namespace, settings: Settings) -> int:
    from bot.db.access import create_token, revoke_tokens
    from bot.db.migrate import upgrade
    from bot.db.session import Database

    database = Database(settings.database_url)
    upgrade(database)
    if args.action == "revoke":
        count = revoke_tokens(database, args.name)
        print(f"{count} token(s) named {args.name!r} revoked")
        return 0 if count else 1
    try:
        print(create_token(database, args.name))
    except ValueError as error:
        print(f"sawt token create: {error}", file=sys.stderr)
        return 2
    return 0


def cmd_subscribers(args: argparse.Namespace, settings: Settings) -> int:
    """Exit 0 when every line was imported, 1 when some were skipped, 2 when the file could
    not be read at all — so a script knows whether to look at the report."""
    from bot.broadcast.importer import count_lines, import_subscribers
    from bot.broadcast.subscriber_csv import CsvFormatError
    from bot.db.migrate import prepare
    from bot.db.session import Database

    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 2
    database = Database(settings.database_url)
    prepare(database)  # the districts a line names must exist: a new install is seeded
    with _progress_bar(count_lines(path)) as advance:
        try:
            report = import_subscribers(database, settings.commune_slug, path, progress=advance)
        except (CsvFormatError, UnicodeDecodeError, LookupError) as error:
            print(f"{path}: {error}", file=sys.stderr)
            return 2
    for error in report.errors:
        print(f"line {error.line}: {error.reason} — skipped", file=sys.stderr)
    print(report.summary())
    return 1 if report.errors else 0


@contextmanager
def _progress_bar(total: int) -> Iterator[Callable[[int], None]]:
    """tqdm's bar on a terminal when it is installed (it comes with Rasa); else a line every
    1,000 rows, so a long import still shows it is moving."""
    try:
        from tqdm import tqdm
    except ImportError:
        tqdm = None
    if tqdm is not None:
        with tqdm(total=total, unit="row", disable=None, file=sys.stderr) as bar:
            yield bar.update
        return
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        before, done = done, done + count
        if done // 1000 > before // 1000:
            print(f"{done:,}/{total:,} rows", file=sys.stderr)

    yield advance


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sawt",
        description="Sawt (صوت): the commune's citizen assistant. Settings come from the "
        "environment or a .env file (see README).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Command, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(fn=fn)
        return p

    add("run", cmd_run, "prepare the database and model, start the action server and gateway")
    add("gateway", cmd_gateway, "start the gateway only (REST, web chat, channels, console)")
    add("actions", cmd_actions, "start the rasa-sdk action server only")
    p = add("train", cmd_train, "train the model into models/ (skipped when nothing changed)")
    p.add_argument("--config", help="Rasa config file (default: config.yml)")
    p.add_argument("--out", help="output folder (default: models/)")
    p.add_argument("--force", action="store_true", help="train even if nothing changed")
    p = add("eval", cmd_eval, "evaluate the NLU per language on the held-out test sets")
    p.add_argument("--model", help="model to evaluate (default: train/reuse models/)")
    p.add_argument("--out", default=str(PROJECT_ROOT / "results"), help="output folder")
    add("seed", cmd_seed, "migrate the database and seed it when empty")
    p = add("db", cmd_db_upgrade, "database schema: `sawt db upgrade [REVISION]`")
    p.add_argument("action", choices=["upgrade"], help="upgrade the schema")
    p.add_argument("revision", nargs="?", default="head", help="target revision (default head)")
    add("lookups", cmd_lookups, "regenerate the NLU lookup tables from the database")
    p = add("token", cmd_token, "API tokens for /api/v1: `sawt token create NAME` prints a new one; "
            "`sawt token revoke NAME` revokes every token of that name")
    p.add_argument("action", choices=["create", "revoke"],
                   help="create a token (it is shown only once), or revoke tokens by name")
    p.add_argument("name", help="who or what the token is for, e.g. the integration's name")
    p = add("subscribers", cmd_subscribers,
            "subscribers: `sawt subscribers import FILE.csv` (channel,user_id,language,district,"
            "topics; the same channel and user_id update the row)")
    p.add_argument("action", choices=["import"], help="import or update subscribers from a CSV file")
    p.add_argument("file", help="CSV file; topics separated by ; or |, empty = every topic")
    p = add("ask", cmd_ask, "one turn through the real assistant, printed")
    p.add_argument("text", help="what the citizen says")
    p.add_argument("--sender", default="cli", help="conversation id (default: cli)")
    p = add("parse", cmd_parse, "the model's reading of TEXT (or of each stdin line) as JSON")
    p.add_argument("text", nargs="?", help="text to parse; without it, one message per stdin line")
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    return int(args.fn(args, settings) or 0)


if __name__ == "__main__":
    sys.exit(main())
