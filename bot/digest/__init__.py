"""Digests: stories grouped across outlets, each chat's digest built, rendered as messages.

``stories`` groups reports of the same story; ``builder`` chooses, filters and ranks the
stories of one chat's digest; ``model`` holds the digest records; ``render`` turns a
digest into Telegram HTML (the one message splitter) or terminal text.
"""
