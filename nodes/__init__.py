"""An aiohttp service whose user sessions live in node memory, an encrypted cookie or Redis."""
