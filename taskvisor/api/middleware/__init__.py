"""Pure ASGI middleware (no BaseHTTPMiddleware: it costs a task and a
queue per request). Order, outermost first: edge (request id, microversion,
size/content-type/JSON bounds), then auth (identity)."""
