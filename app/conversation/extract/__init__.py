"""Extractors: each reads one kind of fact from a text and returns it with its evidence."""
