"""Alpaca Trading API v2 over PaperDesk's services: shapes, routes and errors."""
