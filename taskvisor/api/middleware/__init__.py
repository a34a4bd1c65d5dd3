"""Pure ASGI middleware of the API (one concern a module)."""
