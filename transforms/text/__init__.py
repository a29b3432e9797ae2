"""Text: decoding, extraction, cleaning, dates, fingerprints, URLs; the ExtractText and Fingerprint steps."""
