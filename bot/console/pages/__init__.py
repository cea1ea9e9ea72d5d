"""One module per console section; each exposes `add_routes(console: web.Application)`."""
