"""QC specifications, results, evaluation and deviations (SPEC 4.3)."""
