"""Experiments: each writes its figures, config and metrics into one output folder."""
