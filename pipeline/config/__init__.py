"""The configuration files: settings and threads (``settings``), feeds (``feeds``)."""
