"""Synthetic data at scale (SPEC 8, 9): `flask seed-scale` builds a realistic study of any size
with bulk inserts, for benchmarks and capacity planning. Never for a production database."""
