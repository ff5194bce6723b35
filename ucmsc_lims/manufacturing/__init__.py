"""Cell bank lots, product batches, passages, vials, release and batch records (SPEC 4.2, 4.3)."""
