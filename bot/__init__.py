"""newsdigest's application side: configuration, store, sources, digests and the bot."""
