-- Chat.Orleans' own tables.

-- Append-only message log. The primary key serves "last N messages of a room"
-- (WHERE room = $1 ORDER BY timestamp_ms DESC LIMIT $2, a backward index scan) and turns a
-- replayed write of the same message into a unique violation instead of a duplicate.
CREATE TABLE IF NOT EXISTS chat_messages
(
    room         text   NOT NULL,
    timestamp_ms bigint NOT NULL,
    name         text   NOT NULL,
    message      text   NOT NULL,

    CONSTRAINT pk_chat_messages PRIMARY KEY (room, timestamp_ms)
);

-- Secrets every gateway and silo must agree on, such as the key that signs private room ids.
-- Kept in the database so that all instances read the same value without sharing files.
CREATE TABLE IF NOT EXISTS chat_secrets
(
    name  text  NOT NULL,
    value bytea NOT NULL,

    CONSTRAINT pk_chat_secrets PRIMARY KEY (name)
);

-- Exactly-once posts (PROTOCOL.md, "Exactly-once posts"): every post carries a key, the client's `id`
-- or one its gateway made (those start with '~', which no client id can), and a room stores a key at
-- most once, so a post retried after a crash or a reconnect is stored (and relayed) once.
ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS post_key text;
CREATE UNIQUE INDEX IF NOT EXISTS ux_chat_messages_post_key ON chat_messages (room, post_key) WHERE post_key IS NOT NULL;
