"""The ticket pages: list, create, detail and its forms (HTML over the services)."""
