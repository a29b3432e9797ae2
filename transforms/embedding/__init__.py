"""Embedding: the model handlers (sentence-transformers, ONNX) and EmbedArticles."""
