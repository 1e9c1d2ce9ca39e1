"""Sources: where articles come from, fetched through one guarded path.

``netguard`` decides which addresses may be fetched; ``fetch`` fetches within limits
(redirects, size, time); ``urls`` canonicalizes links; ``pages`` turns a link into an
article; ``feeds`` polls RSS/Atom feeds; ``seeds`` reads the bundled sample articles.
Sources never touch the store: they return articles and the feeds' next state.
"""
