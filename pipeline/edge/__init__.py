"""The edge processes in front of a streaming job: watch, poll-feeds, and their publish retries."""
