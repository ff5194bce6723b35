"""Benchmarks for SPEC 9 (`make bench`): synthetic databases at 10,000 and 1,000,000 bags on
SQLite and PostgreSQL, timed in process and under load; results in bench/RESULTS.md."""
