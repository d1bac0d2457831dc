"""The `fasthold` command: one subcommand for each job.

Each subcommand lives in its own module under `service.commands` and is imported only when
run, so `fasthold rules evaluate` does not pay for aiohttp or OR-Tools.
Exit status: 0 success, 2 invalid input or configuration, 1 anything else.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
from collections.abc import Sequence


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:  # nan and inf are floats too
        raise argparse.ArgumentTypeError(f"must be a number > 0: {text!r}")
    return value


def _heartbeat(text: str) -> float:
    """Seconds between a worker's heartbeats: 1 to 60."""
    value = _positive_float(text)
    if not 1 <= value <= 60:
        raise argparse.ArgumentTypeError(f"must be from 1 to 60 seconds: {text!r}")
    return value


# The largest whole number an option takes: counts, seeds (CP-SAT's is 32 bits) and row ids
# beyond it are no input any command can use (a longer one was an OverflowError).
MAX_WHOLE = 2**31 - 1
MAX_PORT = 65535


def _whole(text: str, lowest: int, highest: int, words: str) -> int:
    if not (text.isascii() and text.isdigit()) or not lowest <= int(text) <= highest:
        raise argparse.ArgumentTypeError(f"must be {words}: {text!r}")
    return int(text)


def _positive_int(text: str) -> int:
    return _whole(text, 1, MAX_WHOLE, f"a positive whole number up to {MAX_WHOLE}")


def _non_negative_int(text: str) -> int:
    return _whole(text, 0, MAX_WHOLE, f"a whole number from 0 to {MAX_WHOLE}")


def _port(text: str) -> int:
    return _whole(text, 0, MAX_PORT, f"a port from 0 to {MAX_PORT} (0: any free port)")


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text!r}")
    return value


def _command(sub: argparse._SubParsersAction, name: str, target: str, help_text: str
             ) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, help=help_text, description=help_text)
    parser.set_defaults(target=target)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fasthold",
        description="fasthold: keep sick-listed employees in their jobs "
        "('Sammen om fastholdelse').",
    )
    top = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = _command(top, "serve", "service.commands.serve:run",
                     "run the HTTP service (API, employer pages; the background jobs too "
                     'unless [jobs] runner = "procrastinate")')
    serve.add_argument("--config", help="municipality TOML (default: $FASTHOLD_CONFIG or "
                       "config/demo.toml)")
    serve.add_argument("--config-dir", dest="config_dir", help="a deployment of many "
                     "municipalities: one TOML each (default: $FASTHOLD_CONFIG_DIR)")
    serve.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    serve.add_argument("--port", type=_port, default=None,
                       help="listen port (default 8080)")
    serve.add_argument("--demo", action="store_true",
                       help="embedded default: SQLite under var/, local mail sink, demo keys")

    worker = _command(top, "worker", "service.commands.worker:run",
                      'run the background jobs from the PostgreSQL job queue ([jobs] runner = '
                      '"procrastinate"); no web server')
    worker.add_argument("--config", help="municipality TOML (default: $FASTHOLD_CONFIG or "
                        "config/demo.toml)")
    worker.add_argument("--config-dir", dest="config_dir", help="a deployment of many "
                     "municipalities: one TOML each (default: $FASTHOLD_CONFIG_DIR)")
    worker.add_argument("--concurrency", type=_positive_int, default=1,
                        help="jobs run at once in this process (default 1)")
    worker.add_argument("--heartbeat", type=_heartbeat, default=10.0,
                        help="seconds between the worker's signs of life, 1-60 (default 10); "
                             "the jobs of a worker silent for three run again. Every worker "
                             "of a deployment must use the same")

    db = top.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", metavar="ACTION", required=True)
    upgrade = _command(db, "upgrade", "service.commands.db:upgrade",
                       "apply Alembic migrations up to the newest schema")
    upgrade.add_argument("--config", help="municipality TOML")

    config = top.add_parser("config", help="configuration files").add_subparsers(
        dest="config_command", metavar="ACTION", required=True)
    check = _command(config, "check", "service.commands.config_check:run",
                     "validate municipality configuration files")
    check.add_argument("files", nargs="+", help="TOML files, or a directory of a deployment of "
                       "many municipalities (as serve --config-dir reads it)")

    rules = top.add_parser("rules", help="eligibility rules").add_subparsers(
        dest="rules_command", metavar="ACTION", required=True)
    evaluate = _command(rules, "evaluate", "service.commands.rules_evaluate:run",
                        "decide case facts (JSON Lines in, JSON Lines out)")
    evaluate.add_argument("--config", help="municipality TOML with the [rules] thresholds")
    evaluate.add_argument("--as-of", dest="as_of", help="evaluation date YYYY-MM-DD "
                          "(default: today in Europe/Copenhagen)")
    evaluate.add_argument("file", nargs="?", default="-", help="input file, or - for stdin")

    plan = _command(top, "plan", "service.commands.plan:run",
                    "assign cases and schedule meetings for a planning instance (JSON)")
    plan.add_argument("--solver", choices=["cpsat", "greedy"], default="cpsat")
    plan.add_argument("--time-limit", dest="time_limit", type=_positive_float, default=10.0,
                      help="seconds (default 10)")
    plan.add_argument("--seed", type=_non_negative_int, default=0)
    plan.add_argument("instance", help="instance JSON file, or - for stdin")

    bench = top.add_parser("bench", help="benchmarks and instance generator").add_subparsers(
        dest="bench_command", metavar="ACTION", required=True)
    bench_rules = _command(bench, "rules", "service.commands.bench_rules:run",
                           "evaluate generated cases through the CLI path; decisions/s, memory")
    bench_rules.add_argument("--cases", type=_positive_int, default=100_000)
    bench_rules.add_argument("--seed", type=_non_negative_int, default=1)
    bench_rules.add_argument("--json", dest="json_out", default="var/bench/rules.json",
                             help="where to write the JSON result")
    bench_load = _command(bench, "load", "service.commands.bench_load:run",
                          "start the service and load it (intake, reads); requests/s, "
                          "latency, memory")
    bench_load.add_argument("--databases", default="sqlite,postgresql",
                            help="comma-separated: sqlite, postgresql (default both)")
    bench_load.add_argument("--concurrency", default="1,10,50",
                            help="comma-separated numbers of concurrent clients")
    bench_load.add_argument("--duration", type=_positive_float, default=10.0,
                            help="seconds per phase and concurrency (default 10)")
    bench_load.add_argument("--config", default="config/demo.toml", help="municipality TOML")
    bench_load.add_argument("--json", dest="json_out", default="var/bench/load.json",
                            help="where to write the JSON result")
    bench_import = _command(bench, "import", "service.commands.bench_import:run",
                            "import a generated CSV file of cases through the /import page; "
                            "seconds, rows/s")
    bench_import.add_argument("--rows", type=_positive_int, default=5_000)
    bench_import.add_argument("--seed", type=_non_negative_int, default=1)
    bench_import.add_argument("--databases", default="sqlite",
                              help="comma-separated: sqlite, postgresql (default sqlite)")
    bench_import.add_argument("--config", default="config/demo.toml", help="municipality TOML")
    bench_import.add_argument("--json", dest="json_out", default="var/bench/import.json",
                              help="where to write the JSON result")
    bench_plan = _command(bench, "plan", "service.commands.bench_plan:run",
                          "solve S/M/L/XL instances with CP-SAT and greedy; print a table")
    bench_plan.add_argument("--sizes", default="S,M,L,XL", help="comma-separated sizes")
    bench_plan.add_argument("--seed", type=_non_negative_int, default=1)
    bench_plan.add_argument("--json", dest="json_out", default="var/bench/plan.json")
    bench_plan.add_argument("--talk-share", dest="talk_share", type=_share, default=0.2,
                            help="share of workplace cases asking for the private talk first "
                            "(0-1, default 0.2); each size is solved without the wishes too, "
                            "for what the talks cost")
    morning = _command(bench, "morning", "service.commands.bench_morning:run",
                       "the national morning planning run on generated municipalities")
    morning.add_argument("--municipalities", type=_positive_int, default=98)
    morning.add_argument("--processes", type=_positive_int, default=None,
                         help="solver processes (default: one per CPU)")
    morning.add_argument("--time-limit", dest="time_limit", type=_positive_float, default=10.0,
                         help="CP-SAT seconds per partition (default 10)")
    morning.add_argument("--partition-cases", dest="partition_cases", type=_positive_int,
                         default=600, help="split a municipality by team above this many cases")
    morning.add_argument("--team-size", dest="team_size", type=_positive_int, default=25,
                         help="consultants per team in the generated municipalities")
    morning.add_argument("--largest", type=_positive_int, default=1500,
                         help="target cases a month of the largest municipality")
    morning.add_argument("--seed", type=_non_negative_int, default=1)
    morning.add_argument("--json", dest="json_out", default="var/bench/morning.json")
    scale = _command(bench, "scale", "service.commands.bench_scale:run",
                     "one deployment of many municipalities on a throwaway PostgreSQL: web "
                     "processes and workers, a day of intake at 10x Herning's rate, the "
                     "morning planning, reads, a worker killed mid-run")
    scale.add_argument("--municipalities", type=_positive_int, default=5,
                       help="generated from config/herning.toml (default 5, at most 99)")
    scale.add_argument("--web", type=_positive_int, default=2,
                       help="fasthold serve processes (default 2)")
    scale.add_argument("--workers", type=_positive_int, default=2,
                       help="fasthold worker processes (default 2, at least 2)")
    scale.add_argument("--duration", type=_positive_float, default=30.0,
                       help="seconds of reads during the morning planning (default 30)")
    scale.add_argument("--cases", type=_positive_int, default=None,
                       help="cases a municipality (default: a day at 10x Herning's rate)")
    scale.add_argument("--time-limit", dest="time_limit", type=_positive_float, default=None,
                       help="planning seconds per run (default: Herning's configuration)")
    scale.add_argument("--heartbeat", type=_heartbeat, default=10.0,
                       help="the workers' heartbeat seconds (default 10): a killed worker's "
                            "job runs again after three")
    scale.add_argument("--keep-logs", dest="keep_logs", action="store_true",
                       help="keep the processes' logs (their directory is printed)")
    scale.add_argument("--json", dest="json_out", default="var/bench/scale.json")
    generate = _command(bench, "generate", "service.commands.bench_generate:run",
                        "write a realistic planning instance (Herning area) as JSON")
    generate.add_argument("--cases", type=_positive_int, required=True)
    generate.add_argument("--consultants", type=_positive_int, required=True)
    generate.add_argument("--seed", type=_non_negative_int, default=1)
    generate.add_argument("--tight", action="store_true", help="capacity-tight instance")
    generate.add_argument("--as-of", dest="as_of", default=None, help="YYYY-MM-DD")
    generate.add_argument("--out", default="-", help="output file, or - for stdout")
    generate.add_argument("--talk-share", dest="talk_share", type=_share, default=0.0,
                          help="share of workplace cases asking for the private talk first "
                          "(0-1, default 0)")

    simulate = _command(top, "simulate", "service.commands.simulate:run",
                        "months of a municipality on a virtual clock through the real use "
                        "cases: monthly KPIs beside the milestones, CSV, JSON, chart")
    simulate.add_argument("--config", help="municipality TOML with a [simulation] section")
    simulate.add_argument("--months", type=_positive_int, default=15,
                          help="how many months (default 15)")
    simulate.add_argument("--start", default=None, metavar="YYYY-MM",
                          help="first month (default: [simulation] start)")
    simulate.add_argument("--solver", choices=["cpsat", "greedy"], default=None,
                          help="planner (default: [simulation] solver)")
    simulate.add_argument("--time-limit", dest="time_limit", type=_positive_float,
                          default=None, help="seconds per planning run in the simulation "
                          "(default: [simulation] time_limit_seconds)")
    simulate.add_argument("--seed", type=_non_negative_int, default=1)
    simulate.add_argument("--consultants-plan", dest="consultants_plan", default=None,
                          metavar="FILE", help="CSV of month,consultants doing workplace "
                          "meetings (replaces the configured conversion plan)")
    simulate.add_argument("--out", default=None, metavar="DIR",
                          help="where to write months.csv, summary.json, chart.svg "
                          "(default var/simulation/<municipality>)")
    what_if = simulate.add_mutually_exclusive_group()
    what_if.add_argument("--compare", nargs=2, metavar=("A.csv", "B.csv"), default=None,
                         help="run two consultants plans and show the KPIs side by side")
    what_if.add_argument("--compare-solvers", dest="compare_solvers", action="store_true",
                         help="run greedy and CP-SAT planning and show the KPIs side by side")

    demo = _command(top, "demo", "service.commands.demo:run",
                    "start the demo: the service with weeks of simulated history, the local "
                    "mail sink and Slack page, one login per role")
    demo.add_argument("--config", default=None, help="municipality TOML (default "
                      "config/demo.toml)")
    demo.add_argument("--host", default=None, help="listen address (default 127.0.0.1)")
    demo.add_argument("--port", type=_port, default=None,
                      help="listen port (default 8080)")
    demo.add_argument("--weeks", type=_positive_int, default=None,
                      help="weeks of history to simulate on first start (default 26: half a "
                      "year, so the dashboard has every figure for the last months)")
    demo.add_argument("--reset", action="store_true",
                      help="throw the demo's database away and start afresh")

    apikey = top.add_parser("apikey", help="staff API keys").add_subparsers(
        dest="apikey_command", metavar="ACTION", required=True)
    create = _command(apikey, "create", "service.commands.apikey:create",
                      "create an API key (printed once; stored hashed)")
    create.add_argument("--role", required=True,
                        choices=["intake", "consultant", "manager", "admin"])
    create.add_argument("--name", required=True, help="who or what uses the key")
    create.add_argument("--consultant-id", dest="consultant_id", default=None,
                        help="for role consultant: the consultant's id")
    create.add_argument("--config", help="municipality TOML")
    create.add_argument("--config-dir", dest="config_dir", help="a deployment of many "
                     "municipalities: one TOML each (default: $FASTHOLD_CONFIG_DIR)")
    create.add_argument("--municipality", help="with --config-dir: the municipality's id")
    listing = _command(apikey, "list", "service.commands.apikey:list_keys", "list API keys")
    listing.add_argument("--config", help="municipality TOML")
    listing.add_argument("--config-dir", dest="config_dir", help="a deployment of many "
                     "municipalities: one TOML each (default: $FASTHOLD_CONFIG_DIR)")
    listing.add_argument("--municipality", help="with --config-dir: the municipality's id")
    revoke = _command(apikey, "revoke", "service.commands.apikey:revoke", "revoke an API key")
    revoke.add_argument("key_id", type=_positive_int)
    revoke.add_argument("--config", help="municipality TOML")
    revoke.add_argument("--config-dir", dest="config_dir", help="a deployment of many "
                     "municipalities: one TOML each (default: $FASTHOLD_CONFIG_DIR)")
    revoke.add_argument("--municipality", help="with --config-dir: the municipality's id")

    user = top.add_parser("user", help="staff users (login to the staff pages)").add_subparsers(
        dest="user_command", metavar="ACTION", required=True)
    user_create = _command(user, "create", "service.commands.user:create",
                           "create a staff user (password from $FASTHOLD_PASSWORD or a prompt)")
    user_create.add_argument("--username", required=True)
    user_create.add_argument("--role", required=True,
                             choices=["intake", "consultant", "manager", "admin"])
    user_create.add_argument("--consultant-id", dest="consultant_id", default=None,
                             help="for role consultant: the consultant's id in the config")
    user_create.add_argument("--config", help="municipality TOML")
    user_create.add_argument("--config-dir", dest="config_dir", help="a deployment of many "
                     "municipalities: one TOML each (default: $FASTHOLD_CONFIG_DIR)")
    user_create.add_argument("--municipality", help="with --config-dir: the municipality's id")

    erase = _command(top, "erase", "service.commands.erase:run",
                     "erase the personal data of the cases that ended [retention] "
                     "erase_after_days ago, now (the nightly job does it too)")
    erase.add_argument("--dry-run", dest="dry_run", action="store_true",
                       help="only count the cases it would erase")
    erase.add_argument("--config", help="municipality TOML")
    erase.add_argument("--config-dir", dest="config_dir", help="a deployment of many "
                       "municipalities: one TOML each (default: $FASTHOLD_CONFIG_DIR)")
    erase.add_argument("--municipality", help="with --config-dir: the municipality's id")

    datakey = top.add_parser("datakey", help="the data key (CPR encryption)").add_subparsers(
        dest="datakey_command", metavar="ACTION", required=True)
    _command(datakey, "new", "service.commands.datakey:new",
             "print a new random data key (for FASTHOLD_DATA_KEY)")
    rotate = _command(datakey, "rotate", "service.commands.datakey:rotate",
                      "re-encrypt every stored CPR number under a new data key")
    rotate.add_argument("--new-key-env", dest="new_key_env", default=None, metavar="VAR",
                        help="environment variable holding the new key (default: finish a "
                        "rotation: re-encrypt what is still under FASTHOLD_DATA_KEY_PREVIOUS "
                        "with FASTHOLD_DATA_KEY)")
    rotate.add_argument("--config", help="municipality TOML")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    module_name, func_name = args.target.split(":")
    func = getattr(importlib.import_module(module_name), func_name)
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:
        # The database unreachable, nonexistent, of an unknown kind, or its schema not this
        # release's: one line for every command (imported only now: `rules evaluate` does
        # not pay for SQLAlchemy).
        problem = importlib.import_module("service.commands._database").database_problem(exc)
        if problem is None:
            raise
        print(f"fasthold: {problem}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
