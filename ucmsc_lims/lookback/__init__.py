"""Look-back: from a material, donor, lot or failing result to every affected bag and patient."""
