"""The wall clock, in one place: fetch times and poll times are aware UTC datetimes."""

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
