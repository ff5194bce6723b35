"""Labels (SPEC 3, 4.6): blinded bag, ISBT 128 lot and wristband labels, previews and prints."""
