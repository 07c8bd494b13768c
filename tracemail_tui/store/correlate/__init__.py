"""Correlation of parsed events into the accesses, received and sent views."""
