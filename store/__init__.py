"""Persistence in MongoDB: repositories, indexes, the embedded database, the books check."""
