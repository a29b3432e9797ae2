"""The configuration files: settings.yaml and threads.yaml (settings), feeds.yaml or OPML (feeds)."""
