"""Persistence in MongoDB (or FerretDB): repositories, indexes, recovery."""
