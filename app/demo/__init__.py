"""Demo data: a reproducible world of parks, accounts, enterprises, leads and projects."""
