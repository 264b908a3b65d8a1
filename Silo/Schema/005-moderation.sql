-- Identity and moderation (PROTOCOL.md, "Identity" and "Moderation").

-- The verified author of a message (token `sub`; null for an anonymous one), and its tombstone: a
-- deleted message keeps its row with who deleted it and when, and every read leaves it out.
ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS user_id text;
ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS deleted_at timestamptz;
ALTER TABLE chat_messages ADD COLUMN IF NOT EXISTS deleted_by text;

-- Catch-ups and resumes report a room's recent deletions; deletions are rare, so the index is small.
CREATE INDEX IF NOT EXISTS ix_chat_messages_deleted ON chat_messages (room, deleted_at) WHERE deleted_at IS NOT NULL;

-- Bans and mutes, by user or by address, in one room or everywhere, until a time or lifted. Every
-- gateway holds the live ones in memory and reloads them when chat_ban_version changes, which every
-- change to chat_bans bumps in the same transaction.
CREATE TABLE IF NOT EXISTS chat_bans
(
    id         bigserial   NOT NULL,
    user_id    text,
    ip         inet,
    room       text,
    mute       boolean     NOT NULL,
    until      timestamptz,
    reason     text,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),

    CONSTRAINT pk_chat_bans PRIMARY KEY (id),
    CONSTRAINT ck_chat_bans_target CHECK ((user_id IS NULL) <> (ip IS NULL))
);

CREATE TABLE IF NOT EXISTS chat_ban_version
(
    id      integer NOT NULL,
    version bigint  NOT NULL,

    CONSTRAINT pk_chat_ban_version PRIMARY KEY (id),
    CONSTRAINT ck_chat_ban_version_one_row CHECK (id = 1)
);

INSERT INTO chat_ban_version (id, version) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;

-- What moderators, admins and publishers did: newest first by id.
CREATE TABLE IF NOT EXISTS chat_audit
(
    id     bigserial   NOT NULL,
    at     timestamptz NOT NULL DEFAULT now(),
    actor  text        NOT NULL,
    action text        NOT NULL,
    room   text,
    target text        NOT NULL,
    reason text,

    CONSTRAINT pk_chat_audit PRIMARY KEY (id)
);
