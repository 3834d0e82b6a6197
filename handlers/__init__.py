"""Thin REST and Socket.IO handlers: read input, call one function, answer."""
