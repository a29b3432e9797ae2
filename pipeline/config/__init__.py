"""The configuration files: settings and threads (``settings``), feeds (``feeds``);
reading them and wording their errors (``validation``)."""
