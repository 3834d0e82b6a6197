"""Application services: one function or class per command, over the domain and the adapters."""
