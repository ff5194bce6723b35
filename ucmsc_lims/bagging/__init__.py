"""Bagging (SPEC 4.5, 4.6, 4.7): fill sessions, blinded bag labels and the bag's life cycle."""
