"""The PostgreSQL schema, as numbered migrations applied when a store opens.

``MIGRATIONS[n - 1]`` takes a database from version n - 1 to n (version 0: no tables);
``newsdigest_schema`` records each version applied, and when. Every process that opens
the database (the bot, a worker, ``newsdigest migrate``) applies what is missing, one
migration per transaction, under an advisory lock so that two processes starting at once
do not both apply it. A database of a newer version than this code knows is refused.

The tables hold the records of ``bot.models``, one column per field, with the checks SQL
can make (statuses, 24-hour times, counts that cannot be negative, no missing values);
the rest (an IANA zone that exists, for one) is checked when a row is read, by the same
code that checks the embedded store's files. Each index serves a lookup the bot makes:

=============================  ===========================================================
``subscribers_pkey``           get_subscriber, every update, the keyset pages of subscribers()
``subscribers_active``         subscribers(active_only=True), count of active subscribers
``subscribers_pending``        pending_subscribers() at start (a crash's unfinished digests)
``subscribers_status``         count_by_status (/stats), an index-only count
``articles_pkey``              get_article (the ingester's "is it new?")
``articles_url``               article_by_url
``articles_fetched``           articles_since (the digest builder), prune_articles
``articles_feed``              delete_articles_of_feed
``deliveries_pkey``            delivered_ids, record_delivery (one chat's ledger)
``deliveries_chat_position``   deliveries(), the cap of a chat's ledger
``deliveries_sent``            prune_deliveries
``due_pkey``, ``due_wake``     the scheduler: a chat's due time; the due ones, earliest first
``counters_pkey``              increment, counters(day), prune_counters
``subscribers_feeds``          chat_feed_urls (the ingester: only chats with own feeds)
``channels_pkey``              get_channel, put_channel
``channels_managers``          channels_managed_by (a GIN index on the managers' ids)
``selections_pkey``            selected_chat, select_chat
=============================  ===========================================================

Adding a field to a record of ``bot.models`` needs a migration adding its column (with a
default for the rows already there), appended to ``MIGRATIONS``; the store reads and writes
every field of the dataclass, so nothing else changes. A new table needs a migration too.
"""

from __future__ import annotations

LOCK_KEY = 0x6E657773  # pg_advisory_xact_lock key of migrations ("news")

_V1 = """
CREATE FUNCTION newsdigest_clocks(text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS $$
        SELECT coalesce(
            bool_and(t IS NOT NULL AND t ~ '^([01][0-9]|2[0-3]):[0-5][0-9]$'), true)
        FROM unnest($1) AS t
    $$;

CREATE FUNCTION newsdigest_texts(text[]) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS $$ SELECT array_position($1, NULL) IS NULL $$;

CREATE TABLE subscribers (
    chat_id bigint PRIMARY KEY,
    chat_type text NOT NULL,
    topics text[] NOT NULL CONSTRAINT subscriber_topics CHECK (newsdigest_texts(topics)),
    follow text[] NOT NULL CONSTRAINT subscriber_follow CHECK (newsdigest_texts(follow)),
    "exclude" text[] NOT NULL CONSTRAINT subscriber_exclude CHECK (newsdigest_texts("exclude")),
    times text[] NOT NULL CONSTRAINT subscriber_times CHECK (newsdigest_clocks(times)),
    timezone text NOT NULL,
    status text NOT NULL
        CONSTRAINT subscriber_status CHECK (status IN ('active', 'paused', 'blocked')),
    created timestamptz NOT NULL,
    last_slot timestamptz,
    last_digest timestamptz,
    thread_id bigint,
    skip_empty boolean NOT NULL,
    pending_slot timestamptz,
    pending_sent integer NOT NULL CONSTRAINT subscriber_pending_sent CHECK (pending_sent >= 0)
);
CREATE INDEX subscribers_active ON subscribers (chat_id) WHERE status = 'active';
CREATE INDEX subscribers_pending ON subscribers (chat_id) WHERE pending_slot IS NOT NULL;
CREATE INDEX subscribers_status ON subscribers (status);

CREATE SEQUENCE articles_stored;
CREATE TABLE articles (
    id text PRIMARY KEY,
    url text NOT NULL,
    title text NOT NULL,
    source text NOT NULL,
    published timestamptz,
    fetched timestamptz NOT NULL,
    language text NOT NULL,
    topics text[] NOT NULL CONSTRAINT article_topics CHECK (newsdigest_texts(topics)),
    summary text[] NOT NULL CONSTRAINT article_summary CHECK (newsdigest_texts(summary)),
    words text[] NOT NULL CONSTRAINT article_words CHECK (newsdigest_texts(words)),
    feed text NOT NULL,
    stored bigint NOT NULL DEFAULT nextval('articles_stored')
);
CREATE INDEX articles_url ON articles (url, stored);
CREATE INDEX articles_fetched ON articles (fetched, id);
CREATE INDEX articles_feed ON articles (feed);

CREATE SEQUENCE deliveries_order;
CREATE TABLE deliveries (
    chat_id bigint NOT NULL,
    article_id text NOT NULL,
    sent timestamptz NOT NULL,
    position bigint NOT NULL DEFAULT nextval('deliveries_order'),
    PRIMARY KEY (chat_id, article_id)
);
CREATE INDEX deliveries_chat_position ON deliveries (chat_id, position);
CREATE INDEX deliveries_sent ON deliveries (sent);

CREATE TABLE feeds (
    url text PRIMARY KEY,
    etag text,
    last_modified text,
    failures integer NOT NULL CONSTRAINT feed_failures CHECK (failures >= 0),
    last_error text,
    last_error_kind text,
    last_success timestamptz,
    next_attempt timestamptz,
    articles_total bigint NOT NULL CONSTRAINT feed_articles_total CHECK (articles_total >= 0)
);

CREATE TABLE counters (
    day date NOT NULL,
    name text NOT NULL CONSTRAINT counter_name CHECK (name <> ''),
    value bigint NOT NULL,
    PRIMARY KEY (day, name)
);

-- The scheduler's next due time of each subscriber (Store.due_times): not part of the
-- record, and kept apart so that a change of one never rewrites the other's row.
CREATE TABLE due (
    chat_id bigint PRIMARY KEY REFERENCES subscribers ON DELETE CASCADE,
    wake_at timestamptz NOT NULL,
    slot timestamptz NOT NULL
);
CREATE INDEX due_wake ON due (wake_at);
"""

# Languages, chats' own feeds, channels and selected chats (the embedded store's schema 4).
_V2 = """
ALTER TABLE subscribers
    ADD COLUMN language text,
    ADD COLUMN telegram_language text,
    ADD COLUMN feeds text[] NOT NULL DEFAULT '{}'
        CONSTRAINT subscriber_feeds CHECK (newsdigest_texts(feeds));
CREATE INDEX subscribers_feeds ON subscribers (chat_id)
    WHERE status = 'active' AND cardinality(feeds) > 0;

ALTER TABLE articles
    ADD COLUMN feed_urls text[] NOT NULL DEFAULT '{}'
        CONSTRAINT article_feed_urls CHECK (newsdigest_texts(feed_urls)),
    ADD COLUMN private boolean NOT NULL DEFAULT false;

ALTER TABLE feeds
    ADD COLUMN title text,
    ADD COLUMN entries integer NOT NULL DEFAULT 0 CONSTRAINT feed_entries CHECK (entries >= 0);

CREATE TABLE channels (
    chat_id bigint PRIMARY KEY,
    title text NOT NULL,
    managers bigint[] NOT NULL
        CONSTRAINT channel_managers CHECK (array_position(managers, NULL) IS NULL),
    username text,
    linked timestamptz NOT NULL
);
CREATE INDEX channels_managers ON channels USING gin (managers);

CREATE TABLE selections (
    user_id bigint PRIMARY KEY,
    chat_id bigint NOT NULL
);
"""

# (version, what it does, SQL); version n is MIGRATIONS[n - 1].
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (1, "subscribers, articles, deliveries, feeds, counters, due times", _V1),
    (2, "languages, chats' own feeds, channels, selected chats", _V2),
)
VERSION = len(MIGRATIONS)

BOOKKEEPING = """
CREATE TABLE IF NOT EXISTS newsdigest_schema (
    version integer PRIMARY KEY,
    description text NOT NULL,
    applied timestamptz NOT NULL DEFAULT now()
)
"""
