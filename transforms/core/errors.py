"""Exception types.

Every failure a user can act on has its own type, so the CLI can map it to an
exit code and a message, and the pipeline can map per-item failures to a
dead-letter record with a stage and a reason instead of crashing.
"""


class ThreadwatchError(Exception):
    """Base class of every error raised on purpose by threadwatch."""


class ConfigError(ThreadwatchError):
    """A configuration file is missing, unreadable or invalid.

    The message always names the file and, where there is one, the key.
    """

    def __init__(self, path: str, message: str, key: str | None = None) -> None:
        self.path = path
        self.key = key
        where = f"{path}: {key}: " if key else f"{path}: "
        super().__init__(where + message)


class ItemError(ThreadwatchError):
    """One input item cannot be processed; it becomes a dead letter.

    ``reason`` is a short stable code (``empty``, ``binary``, ``too_large``…)
    that can be counted; the message says more.
    """

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        super().__init__(message)


class ReadError(ItemError):
    """The item could not be read or decoded."""


class ExtractionError(ItemError):
    """The item was read but yielded no usable article text."""
