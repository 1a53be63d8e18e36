"""Helpers for tests and benchmarks that run the real site in subprocesses."""
