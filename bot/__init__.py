"""The edge: aiohttp app, WeChat adapters, command line."""
