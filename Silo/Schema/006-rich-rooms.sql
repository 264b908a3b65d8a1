-- Rich rooms (PROTOCOL.md, "Rich rooms"): edits and reactions. Typing and presence are never stored.

-- An edited message holds its latest text and when it was edited (ms since the epoch, as timestamps);
-- every earlier text is kept in chat_message_edits, so an audit can show what a message said before.
ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS edited_at bigint;

-- When a message's reactions last changed: catch-ups and resumes send the counts of those changed
-- lately again (a session may have missed the live frame). Both partial indexes are as small as the
-- number of messages edited or reacted to, and serve "changed lately in this room".
ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS reacted_at timestamptz;
CREATE INDEX IF NOT EXISTS ix_chat_messages_edited ON chat_messages (room, edited_at) WHERE edited_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_chat_messages_reacted ON chat_messages (room, reacted_at) WHERE reacted_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS chat_message_edits
(
    room         text   NOT NULL,
    timestamp_ms bigint NOT NULL,
    replaced_at  bigint NOT NULL,
    message      text   NOT NULL,

    CONSTRAINT pk_chat_message_edits PRIMARY KEY (room, timestamp_ms, replaced_at)
);

-- One row per (message, emoji, person): a toggle inserts or deletes it. The key serves the counts of a
-- message (WHERE room AND timestamp_ms GROUP BY emoji) and makes a doubled toggle harmless.
CREATE TABLE IF NOT EXISTS chat_reactions
(
    room         text        NOT NULL,
    timestamp_ms bigint      NOT NULL,
    emoji        text        NOT NULL,
    person       text        NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),

    CONSTRAINT pk_chat_reactions PRIMARY KEY (room, timestamp_ms, emoji, person)
);
