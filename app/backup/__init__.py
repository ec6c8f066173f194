"""`flask backup create|restore`: consistent copies of the SQLite database, and their restore."""
