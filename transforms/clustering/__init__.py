"""Clustering: the story tracker in parts, its state store and the ClusterStories stage."""
