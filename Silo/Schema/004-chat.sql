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
