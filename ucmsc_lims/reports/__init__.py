"""Reports and inspection: audit exports, report index, time-limited inspector grants."""
