"""Ingest: article -> topics -> summary -> stored, once per article.

``topics`` files articles under the configured topics and holds the rule for users'
followed and excluded words; ``ingester`` runs the sources and stores what is new, with
its summary computed once, off the event loop.
"""
