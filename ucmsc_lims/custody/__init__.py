"""Locations, custody events, shipments, temperature logs and excursions (SPEC 4.7)."""
