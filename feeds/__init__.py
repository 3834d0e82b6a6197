"""Price sources: each turns its payload into a domain quote at the boundary."""
