"""A failed run in one line: which stage failed and why.

Beam re-raises an exception from user code with the step's full label
appended, `` [while running 'WriteOutputs/Write_alerts/WriteFile']``, either
as the same exception type or, when that type cannot be rebuilt with the
longer message, as a ``RuntimeError`` whose message starts with the original
type's name. The runners also log the failure, with its traceback, before
re-raising it (once per retry on the direct runner). ``describe_failure``
recovers the stage (the label's first part: the graph's composite, such as
``ExtractText``), the original type and the message; ``QuietBeamErrors``
keeps those logged tracebacks off the terminal unless ``--verbose`` asks.
Worker processes (``--direct_running_mode=multi_processing``) print their
own traceback before it reaches this process; the last line is still ours.
"""

import logging
import re
import sys

_STEP = re.compile(r" \[while running '([^']+)'\]")
#: ``RuntimeError("FileExistsError: [Errno 17] …")``: the type Beam could not rebuild.
_NAMED_TYPE = re.compile(r"^([A-Za-z_][\w.]*): (.*)$")
_TYPE_ENDINGS = ("Error", "Exception", "Exit", "Interrupt", "Warning")


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not s for s in seen):
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def failing_step(exc: BaseException) -> tuple[str, str, str] | None:
    """``(step label, exception type, message)`` from the first annotated line, if any."""
    for link in _chain(exc):
        for line in str(link).splitlines():
            match = _STEP.search(line)
            if not match:
                continue
            message = _STEP.sub("", line).strip()
            kind = type(link).__name__
            # A traceback's last line ("RuntimeError: ValueError: …") or Beam's
            # stand-in RuntimeError: unwrap to the type that was raised.
            while kind in ("RuntimeError", "Exception"):
                named = _NAMED_TYPE.match(message)
                if not named or not named.group(1).endswith(_TYPE_ENDINGS):
                    break
                kind, message = named.group(1).rsplit(".", 1)[-1], named.group(2)
            return match.group(1), kind, message
    return None


def describe_failure(exc: BaseException) -> str:
    """One line: ``pipeline failed in STAGE: Type: message (step 'LABEL')``."""
    found = failing_step(exc)
    if found is None:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        return f"failed: {type(exc).__name__}" + (f": {first}" if first else "")
    step, kind, message = found
    stage = step.split("/", 1)[0]
    where = f" (step '{step}')" if step != stage else ""
    return f"pipeline failed in {stage}: {kind}: {message}{where}"


class QuietBeamErrors(logging.Filter):
    """Drops Beam's error records that carry a traceback (the failure, logged before it is raised).

    The command line reports the failure itself, in one line; ``--verbose``
    removes this filter and prints the traceback as well. Beam's other
    errors and warnings pass.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        beam_error = record.name.startswith("apache_beam") and record.levelno >= logging.ERROR
        has_traceback = bool(record.exc_info) or "Traceback" in record.getMessage()
        return not (beam_error and has_traceback)


def configure_logging(verbose: bool) -> None:
    """Warnings to stderr; Beam's error tracebacks only with ``--verbose``.

    Like ``logging.basicConfig``, it installs a handler only where none is;
    only handlers writing to stderr are filtered (a test runner's capturing
    handlers keep every record).
    """
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for handler in root.handlers:
        if not isinstance(handler, logging.StreamHandler) or handler.stream is not sys.stderr:
            continue
        for old in [f for f in handler.filters if isinstance(f, QuietBeamErrors)]:
            handler.removeFilter(old)
        if not verbose:
            handler.addFilter(QuietBeamErrors())
