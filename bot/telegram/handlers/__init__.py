"""Telegram command and button handlers, grouped by theme: parse, call a service, reply.

Each handler is small: it reads the command's arguments, calls a service
(``bot.services``) or the dispatcher, and answers. Bad input is answered where it happens
(``UserError`` messages, "Usage: ..."); anything unexpected goes to ``misc.on_error``.
Registration happens in one place: ``bot.telegram.app.add_handlers``.
"""
