"""The one scan box: any scanned string to what it names (SPEC 3, SPEC 7 `POST /scans`)."""
