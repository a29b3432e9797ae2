"""Sources: the folder, feeds over HTTP, Pub/Sub; each yields RawDocuments or dead letters."""
