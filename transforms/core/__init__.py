"""Records, errors, settings, coders, counters, the atomic writer and setup: what every stage shares."""
