"""What every command shares: exit codes, the usage error, Beam flags checked and parsed."""

import argparse
from collections.abc import Sequence

from apache_beam.options.pipeline_options import (
    PipelineOptions,
    StandardOptions,
    _BeamArgumentParser,
)

from pipeline.options import BATCH_RUNNER, STREAMING_RUNNER

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """The command line itself is wrong."""


def _all_option_classes() -> list[type[PipelineOptions]]:
    found: list[type[PipelineOptions]] = []
    pending = list(PipelineOptions.__subclasses__())
    while pending:
        cls = pending.pop()
        if cls not in found:
            found.append(cls)
            pending.extend(cls.__subclasses__())
    return found


def check_flags(flags: Sequence[str]) -> None:
    """Refuses flags no Beam or threadwatch option knows (Beam only warns)."""
    parser = _BeamArgumentParser(add_help=False, allow_abbrev=False)
    for cls in _all_option_classes():
        try:
            cls._add_argparse_args(parser)
        except argparse.ArgumentError:
            continue  # an option declared by two classes: already known
    _, unknown = parser.parse_known_args(list(flags))
    if unknown:
        raise UsageError(f"unknown option(s): {' '.join(unknown)} (see 'threadwatch run --help')")


def pipeline_options(flags: Sequence[str]) -> PipelineOptions:
    """Beam options from flags, with the runner chosen explicitly.

    The plain DirectRunner first tries to start Prism, which it cannot
    download here; naming the runner avoids depending on that failure.
    """
    flags = list(flags)
    options = PipelineOptions(flags)
    if options.view_as(StandardOptions).runner is None:
        streaming = options.view_as(StandardOptions).streaming
        flags.append(f"--runner={STREAMING_RUNNER if streaming else BATCH_RUNNER}")
        options = PipelineOptions(flags)
    return options
