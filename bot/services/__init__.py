"""What users can do, with the rules in one place: called by the Telegram handlers and the
command line alike.

``subscriptions`` (topics, words, times, zones, pause, delete); ``summaries`` (a link or a
text summarized fairly between users); ``feeds`` (a chat's own feeds, OPML); ``channels``
(channels managed from private chats, the chat each user's commands act on); ``stats``
(what administrators see).
"""
