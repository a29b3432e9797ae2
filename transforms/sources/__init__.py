"""Sources: the article folder, feeds over HTTP, Pub/Sub messages; each yields RawDocuments or dead letters."""
