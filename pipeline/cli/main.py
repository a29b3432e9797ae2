"""``threadwatch``: the command line. The only place that turns errors into exit codes.

Exit codes: 0 success; 1 the pipeline failed (one line names the stage and
the error; ``--verbose`` adds the traceback); 2 bad usage or configuration
(the message names the file and key, or the flag), found before any work.

Each command is a module of this package with ``NAME``, ``SUMMARY`` and
``main(argv) -> int``; ``COMMANDS`` lists them in the order the usage shows.
A new command is one module and one line there.
"""

import dataclasses
import sys
import traceback
from collections.abc import Callable, Sequence

from pipeline.cli import (
    digest,
    ecbplus,
    eval,
    feedback,
    onnx_export,
    poll_feeds,
    report,
    run,
    watch,
)
from pipeline.cli.common import EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError
from pipeline.failure import configure_logging, describe_failure
from pipeline.preflight import SourceError
from pipeline.report.load import ReportError
from transforms.core.errors import ConfigError
from transforms.core.setup import register


@dataclasses.dataclass(frozen=True)
class Command:
    name: str
    summary: str
    main: Callable[[Sequence[str]], int]


COMMANDS: tuple[Command, ...] = tuple(
    Command(module.NAME, module.SUMMARY, module.main)
    for module in (run, eval, ecbplus, watch, poll_feeds, onnx_export, report, digest, feedback)
)


def _usage(commands: Sequence[Command]) -> str:
    lines = "\n".join(f"  {c.name}{' ' * max(9 - len(c.name), 2)}{c.summary}" for c in commands)
    return f"""usage: threadwatch <command> [options]

commands:
{lines}

'threadwatch <command> --help' for the options of a command; any command
takes --verbose: on a failure, the full traceback besides the one-line error.
exit codes: 0 done; 1 failed (the failed stage and error); 2 bad usage or configuration.
"""


USAGE = _usage(COMMANDS)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    verbose = "--verbose" in args[1:]
    args = args[:1] + [a for a in args[1:] if a != "--verbose"]
    configure_logging(verbose)
    register()
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return EXIT_OK if args else EXIT_USAGE
    command, rest = args[0], args[1:]
    by_name = {c.name: c for c in COMMANDS}
    try:
        if command not in by_name:
            raise UsageError(f"unknown command {command!r}\n{USAGE}")
        return by_name[command].main(rest)
    except (UsageError, ConfigError, SourceError, ReportError) as exc:
        print(f"threadwatch: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a failed run: one line naming the stage, not a traceback
        if verbose:
            traceback.print_exc()
        hint = "" if verbose else " (--verbose for the traceback)"
        print(f"threadwatch: {describe_failure(exc)}{hint}", file=sys.stderr)
        return EXIT_FAILED
