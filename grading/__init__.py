"""Batch grading of student servers with the kit's suites: ``python -m grading --help``."""
