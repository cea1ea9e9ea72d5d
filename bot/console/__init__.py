"""The agents' console at /admin: server-rendered pages (aiohttp + Jinja2), FR and AR (RTL)."""
