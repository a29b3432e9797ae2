"""Text: decoding, extraction, cleaning, dates, fingerprints, URLs, and their Beam steps."""
