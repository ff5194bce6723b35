"""Material lots: media, supplements, reagents, anticoagulant, saline, containers (SPEC 4.2)."""
