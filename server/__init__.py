"""The PaperDesk server: app factory, settings, sockets and auth."""
