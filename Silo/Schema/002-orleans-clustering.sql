-- Cluster membership for Microsoft.Orleans.Clustering.AdoNet 10.x (silos and clients).
--
-- What the provider expects, as read from its 10.4.2 assembly:
--   * Required keys (start-up fails naming any that is missing): MembershipReadRowKey,
--     MembershipReadAllKey, InsertMembershipVersionKey, InsertMembershipKey, UpdateMembershipKey,
--     UpdateIAmAlivetimeKey (lower-case "t" is the provider's spelling), GatewaysQueryKey,
--     DeleteMembershipTableEntriesKey, CleanupDefunctSiloEntriesKey.
--     Optional: CleanupDefunctSiloEntryKey; when present the provider prefers it and deletes dead
--     silos one row at a time, re-checking the values it read, instead of by cut-off date.
--   * Membership reads return Address, Port, Generation, SiloName, HostName, Status, ProxyPort,
--     SuspectTimes, StartTime, IAmAliveTime and Version, read by name. The first row's Version is
--     the table version, so a deployment with no silo yet must still return one row (NULL silo
--     columns, StartTime NULL meaning "no entry"). Port, Generation, Status and ProxyPort are read
--     with GetInt32 and must be integer columns.
--   * Insert and update return a single value: non-zero when applied, 0 when the caller's table
--     version was stale (the provider then re-reads and retries).
--   * Times are bound as DbType.DateTime with Kind=Utc, which Npgsql sends as timestamptz (it
--     refuses to send them as timestamp), so every time column is timestamptz.
--   * Status is Orleans' SiloStatus: 3 = Active, 6 = Dead.
--   * DeploymentId is the ClusterId.

CREATE TABLE IF NOT EXISTS OrleansMembershipVersionTable
(
    DeploymentId text        NOT NULL,
    Timestamp    timestamptz NOT NULL DEFAULT now(),
    Version      integer     NOT NULL DEFAULT 0,

    CONSTRAINT PK_OrleansMembershipVersionTable PRIMARY KEY (DeploymentId)
);

CREATE TABLE IF NOT EXISTS OrleansMembershipTable
(
    DeploymentId text        NOT NULL,
    Address      text        NOT NULL,
    Port         integer     NOT NULL,
    Generation   integer     NOT NULL,
    SiloName     text        NOT NULL,
    HostName     text        NOT NULL,
    Status       integer     NOT NULL,
    ProxyPort    integer     NOT NULL DEFAULT 0,
    SuspectTimes text        NULL,
    StartTime    timestamptz NOT NULL,
    IAmAliveTime timestamptz NOT NULL,

    CONSTRAINT PK_OrleansMembershipTable PRIMARY KEY (DeploymentId, Address, Port, Generation),
    -- Cascade so that DeleteMembershipTableEntriesKey is one DELETE on the version row.
    CONSTRAINT FK_OrleansMembershipTable_Version FOREIGN KEY (DeploymentId)
        REFERENCES OrleansMembershipVersionTable (DeploymentId) ON DELETE CASCADE
);

-- Optimistic concurrency: a write applies only if the caller saw the current table version, and
-- bumps it. The version row is locked FOR UPDATE first, so concurrent writers of one deployment
-- queue there; under READ COMMITTED a writer that waited re-reads the bumped version and gets 0.
-- Nothing is changed before the checks pass, so a refused write leaves no trace to roll back.
-- Locks the deployment's version row and tells whether it still holds the version the caller saw.
CREATE OR REPLACE FUNCTION orleans_membership_lock_version(p_deployment_id text, p_expected_version integer)
RETURNS boolean
LANGUAGE plpgsql
AS $fn$
DECLARE
    v_current integer;
BEGIN
    SELECT Version INTO v_current
    FROM OrleansMembershipVersionTable
    WHERE DeploymentId = p_deployment_id
    FOR UPDATE;

    RETURN v_current IS NOT NULL AND v_current = p_expected_version;
END
$fn$;

CREATE OR REPLACE FUNCTION orleans_membership_insert(
    p_deployment_id    text,
    p_address          text,
    p_port             integer,
    p_generation       integer,
    p_silo_name        text,
    p_host_name        text,
    p_status           integer,
    p_proxy_port       integer,
    p_start_time       timestamptz,
    p_i_am_alive_time  timestamptz,
    p_expected_version integer)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF NOT orleans_membership_lock_version(p_deployment_id, p_expected_version) THEN
        RETURN 0;
    END IF;

    INSERT INTO OrleansMembershipTable
        (DeploymentId, Address, Port, Generation, SiloName, HostName, Status, ProxyPort,
         StartTime, IAmAliveTime)
    VALUES
        (p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status,
         COALESCE(p_proxy_port, 0), p_start_time, p_i_am_alive_time)
    ON CONFLICT (DeploymentId, Address, Port, Generation) DO NOTHING;

    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = p_deployment_id;

    RETURN 1;
END
$fn$;

CREATE OR REPLACE FUNCTION orleans_membership_update(
    p_deployment_id    text,
    p_address          text,
    p_port             integer,
    p_generation       integer,
    p_status           integer,
    p_suspect_times    text,
    p_i_am_alive_time  timestamptz,
    p_expected_version integer)
RETURNS integer
LANGUAGE plpgsql
AS $fn$
BEGIN
    IF NOT orleans_membership_lock_version(p_deployment_id, p_expected_version) THEN
        RETURN 0;
    END IF;

    -- GREATEST: a late write carrying an older heartbeat must not make a live silo look stale.
    UPDATE OrleansMembershipTable
    SET Status       = p_status,
        SuspectTimes = p_suspect_times,
        IAmAliveTime = GREATEST(IAmAliveTime, p_i_am_alive_time)
    WHERE DeploymentId = p_deployment_id
      AND Address = p_address
      AND Port = p_port
      AND Generation = p_generation;

    IF NOT FOUND THEN
        RETURN 0;
    END IF;

    UPDATE OrleansMembershipVersionTable
    SET Version = Version + 1, Timestamp = now()
    WHERE DeploymentId = p_deployment_id;

    RETURN 1;
END
$fn$;

INSERT INTO OrleansQuery (QueryKey, QueryText)
VALUES
(
    'InsertMembershipVersionKey',
    -- Returns 1 when this call created the version row, 0 when it already existed.
    $q$
    WITH created AS (
        INSERT INTO OrleansMembershipVersionTable (DeploymentId)
        VALUES (@DeploymentId)
        ON CONFLICT (DeploymentId) DO NOTHING
        RETURNING 1
    )
    SELECT count(*)::integer FROM created;
    $q$
),
(
    'InsertMembershipKey',
    $q$
    SELECT orleans_membership_insert(
        @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort,
        @StartTime, @IAmAliveTime, @Version);
    $q$
),
(
    'UpdateMembershipKey',
    $q$
    SELECT orleans_membership_update(
        @DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime,
        @Version);
    $q$
),
(
    'UpdateIAmAlivetimeKey',
    -- Heartbeats do not bump the table version: other silos watch liveness, not table changes.
    $q$
    UPDATE OrleansMembershipTable
    SET IAmAliveTime = GREATEST(IAmAliveTime, @IAmAliveTime)
    WHERE DeploymentId = @DeploymentId
      AND Address = @Address
      AND Port = @Port
      AND Generation = @Generation;
    $q$
),
(
    'MembershipReadRowKey',
    -- LEFT JOIN: the version row comes back even when the silo has no entry yet.
    $q$
    SELECT v.DeploymentId,
           m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
           m.SuspectTimes, m.StartTime, m.IAmAliveTime,
           v.Version
    FROM OrleansMembershipVersionTable AS v
    LEFT JOIN OrleansMembershipTable AS m
           ON m.DeploymentId = v.DeploymentId
          AND m.Address = @Address
          AND m.Port = @Port
          AND m.Generation = @Generation
    WHERE v.DeploymentId = @DeploymentId;
    $q$
),
(
    'MembershipReadAllKey',
    $q$
    SELECT v.DeploymentId,
           m.Address, m.Port, m.Generation, m.SiloName, m.HostName, m.Status, m.ProxyPort,
           m.SuspectTimes, m.StartTime, m.IAmAliveTime,
           v.Version
    FROM OrleansMembershipVersionTable AS v
    LEFT JOIN OrleansMembershipTable AS m
           ON m.DeploymentId = v.DeploymentId
    WHERE v.DeploymentId = @DeploymentId;
    $q$
),
(
    'GatewaysQueryKey',
    -- Used by clients; @Status is bound to Active.
    $q$
    SELECT Address, ProxyPort, Generation
    FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status = @Status
      AND ProxyPort > 0;
    $q$
),
(
    'DeleteMembershipTableEntriesKey',
    -- The foreign key cascades to the silo rows.
    $q$
    DELETE FROM OrleansMembershipVersionTable
    WHERE DeploymentId = @DeploymentId;
    $q$
),
(
    'CleanupDefunctSiloEntriesKey',
    -- Fallback used only when CleanupDefunctSiloEntryKey is absent. Only Dead rows go: a silo
    -- that is merely slow to heartbeat must be voted dead by the cluster, not erased here.
    $q$
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Status = 6
      AND IAmAliveTime < @IAmAliveTime
      AND StartTime < @IAmAliveTime;
    $q$
),
(
    'CleanupDefunctSiloEntryKey',
    -- The provider passes back the values it read; the row goes only if none has changed since.
    $q$
    DELETE FROM OrleansMembershipTable
    WHERE DeploymentId = @DeploymentId
      AND Address = @Address
      AND Port = @Port
      AND Generation = @Generation
      AND Status = 6
      AND StartTime = @StartTime
      AND IAmAliveTime = @IAmAliveTime
      AND COALESCE(SuspectTimes, '') = COALESCE(@SuspectTimes, '');
    $q$
)
ON CONFLICT (QueryKey) DO UPDATE
SET QueryText = EXCLUDED.QueryText
WHERE OrleansQuery.QueryText IS DISTINCT FROM EXCLUDED.QueryText;
