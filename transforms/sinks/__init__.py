"""Sinks: JSON Lines output files and alerts to Pub/Sub."""
