-- Grain state for Microsoft.Orleans.Persistence.AdoNet 10.x (AddAdoNetGrainStorage).
--
-- What the provider expects, as read from its 10.4.2 assembly:
--   * Keys: WriteToStorageKey, ReadFromStorageKey, ClearStorageKey (required);
--     DeleteStorageKey (needed only with DeleteStateOnClear = true, checked at start-up).
--   * Every query binds @GrainIdHash, @GrainTypeHash (int), @GrainIdN0, @GrainIdN1 (bigint),
--     @GrainTypeString, @GrainIdExtensionString (text, NULL when the key has no string part),
--     @ServiceId; write, clear and delete also bind @GrainStateVersion (int, NULL when the grain
--     has never seen a stored row: the ETag), and write binds @PayloadBinary (bytea). 10.x reads
--     and writes only the binary payload; there are no JSON or XML payload parameters.
--   * Read returns columns PayloadBinary and Version (0 or 1 row).
--   * Write returns column NewGrainStateVersion. Clear and delete return one value in their first
--     column. The provider raises InconsistentStateException when that value is missing, NULL,
--     or equal to the version it sent, so every lost race below returns no row or NULL.
--   * Clear keeps the row (payload NULL, version bumped) so the version chain carries on; delete
--     removes it, and the grain's next write inserts afresh with a NULL version.

CREATE TABLE IF NOT EXISTS OrleansStorage
(
    GrainIdHash            integer     NOT NULL,
    GrainTypeHash          integer     NOT NULL,
    GrainIdN0              bigint      NOT NULL,
    GrainIdN1              bigint      NOT NULL,
    GrainTypeString        text        NOT NULL,
    GrainIdExtensionString text        NULL,
    ServiceId              text        NOT NULL,
    PayloadBinary          bytea       NULL,
    ModifiedOn             timestamptz NOT NULL DEFAULT now(),
    Version                integer     NOT NULL
);

-- One row per grain: two activations racing to insert a first state cannot both win.
-- The hashes lead so that the lookups below are index range scans; the extension string is
-- split into "is NULL" and "value or empty" so that NULL and '' stay distinct yet still collide
-- with themselves (plain UNIQUE treats NULLs as distinct) on any PostgreSQL version.
CREATE UNIQUE INDEX IF NOT EXISTS UX_OrleansStorage_Grain
    ON OrleansStorage (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, ServiceId, GrainTypeString,
                       (GrainIdExtensionString IS NULL), COALESCE(GrainIdExtensionString, ''));

-- NULL version: first write of this grain, insert or fail if a row exists (another activation
-- won, or the grain never read its state). Otherwise update only if the stored version is the
-- one the grain last saw. Returns the new version, or NULL when the write was refused.
CREATE OR REPLACE FUNCTION orleans_storage_write(
    p_grain_id_hash    integer,
    p_grain_id_n0      bigint,
    p_grain_id_n1      bigint,
    p_grain_type_hash  integer,
    p_grain_type       text,
    p_key_extension    text,
    p_service_id       text,
    p_expected_version integer,
    p_payload          bytea)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_new_version integer;
BEGIN
    IF p_expected_version IS NULL THEN
        INSERT INTO OrleansStorage
            (GrainIdHash, GrainTypeHash, GrainIdN0, GrainIdN1, GrainTypeString,
             GrainIdExtensionString, ServiceId, PayloadBinary, ModifiedOn, Version)
        VALUES
            (p_grain_id_hash, p_grain_type_hash, p_grain_id_n0, p_grain_id_n1, p_grain_type,
             p_key_extension, p_service_id, p_payload, now(), 1)
        ON CONFLICT DO NOTHING
        RETURNING Version INTO v_new_version;
    ELSE
        UPDATE OrleansStorage
        SET PayloadBinary = p_payload,
            ModifiedOn    = now(),
            Version       = Version + 1
        WHERE GrainIdHash = p_grain_id_hash
          AND GrainTypeHash = p_grain_type_hash
          AND GrainIdN0 = p_grain_id_n0
          AND GrainIdN1 = p_grain_id_n1
          AND ServiceId = p_service_id
          AND GrainTypeString = p_grain_type
          AND (GrainIdExtensionString IS NULL) = (p_key_extension IS NULL)
          AND COALESCE(GrainIdExtensionString, '') = COALESCE(p_key_extension, '')
          AND Version = p_expected_version
        RETURNING Version INTO v_new_version;
    END IF;

    RETURN v_new_version;
END
$fn$;

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
(
    'ReadFromStorageKey',
    $q$
    SELECT PayloadBinary, Version
    FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND ServiceId = @ServiceId
      AND GrainTypeString = @GrainTypeString
      AND (GrainIdExtensionString IS NULL) = (@GrainIdExtensionString IS NULL)
      AND COALESCE(GrainIdExtensionString, '') = COALESCE(@GrainIdExtensionString, '');
    $q$
),
(
    'WriteToStorageKey',
    $q$
    SELECT orleans_storage_write(
        @GrainIdHash, @GrainIdN0, @GrainIdN1, @GrainTypeHash, @GrainTypeString,
        @GrainIdExtensionString, @ServiceId, @GrainStateVersion, @PayloadBinary)
        AS NewGrainStateVersion;
    $q$
),
(
    'ClearStorageKey',
    $q$
    UPDATE OrleansStorage
    SET PayloadBinary = NULL,
        ModifiedOn    = now(),
        Version       = Version + 1
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND ServiceId = @ServiceId
      AND GrainTypeString = @GrainTypeString
      AND (GrainIdExtensionString IS NULL) = (@GrainIdExtensionString IS NULL)
      AND COALESCE(GrainIdExtensionString, '') = COALESCE(@GrainIdExtensionString, '')
      AND Version = @GrainStateVersion
    RETURNING Version AS NewGrainStateVersion;
    $q$
),
(
    'DeleteStorageKey',
    -- The provider only needs a value different from the version it sent; it forgets the ETag.
    $q$
    DELETE FROM OrleansStorage
    WHERE GrainIdHash = @GrainIdHash
      AND GrainTypeHash = @GrainTypeHash
      AND GrainIdN0 = @GrainIdN0
      AND GrainIdN1 = @GrainIdN1
      AND ServiceId = @ServiceId
      AND GrainTypeString = @GrainTypeString
      AND (GrainIdExtensionString IS NULL) = (@GrainIdExtensionString IS NULL)
      AND COALESCE(GrainIdExtensionString, '') = COALESCE(@GrainIdExtensionString, '')
      AND Version = @GrainStateVersion
    RETURNING Version + 1 AS NewGrainStateVersion;
    $q$
)
ON CONFLICT (QueryKey) DO UPDATE
SET QueryText = EXCLUDED.QueryText
WHERE OrleansQuery.QueryText IS DISTINCT FROM EXCLUDED.QueryText;
