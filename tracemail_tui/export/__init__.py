"""Exports that leave our hands: CSV summaries and PDF reports (headless)."""
