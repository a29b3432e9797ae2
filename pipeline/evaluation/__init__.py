"""Evaluation: labelled streams, ECB+ conversion, the scores and the eval job."""
