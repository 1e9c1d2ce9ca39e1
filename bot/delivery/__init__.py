"""Delivery: when each digest is due, sending it, and the exactly-once bookkeeping.

``schedule`` computes each subscriber's slots in their zone (DST-correct) and keeps the
index of due times; ``deliverer`` sends messages with Telegram's faults handled;
``dispatcher`` composes and delivers digests on demand and on schedule, and is the one
place that records what was sent (see its docstring for the promise and its limit).
"""
