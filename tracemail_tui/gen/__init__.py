"""Deterministic generator of realistic mail logs (demo data, benchmarks, tests)."""
