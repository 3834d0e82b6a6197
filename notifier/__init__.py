"""Notifications: channels behind one protocol, each failing alone."""
