"""PaperDesk's pure domain: no I/O imports, no clock reads."""
