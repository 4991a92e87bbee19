"""The Premises Gateway service: an asyncio HTTP/JSON API in front of zigpy radios."""
