"""Trace: any identifier, upstream and downstream, as a graph and a table (SPEC 4.9)."""
