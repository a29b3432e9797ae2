"""What every stage shares: records, errors, settings, coders, counters, atomic writes, setup."""
