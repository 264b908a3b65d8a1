-- Orleans' ADO.NET providers (clustering, grain storage) execute no SQL of their own: at start-up they
-- read every row of this table with the fixed statement "SELECT QueryKey, QueryText FROM OrleansQuery"
-- and later run QueryText by key, binding named parameters (@DeploymentId, @GrainIdHash, ...).
-- The table and column names are therefore part of the providers' contract and must not change.
--
-- Scripts in this folder run in name order, in one transaction, under an advisory lock
-- (see DatabaseSchema.cs), and must stay safe to re-run against an existing database:
-- CREATE ... IF NOT EXISTS, CREATE OR REPLACE FUNCTION, and upserts into OrleansQuery.
-- CREATE OR REPLACE FUNCTION cannot rename parameters or change a return type: such a change
-- needs a DROP FUNCTION IF EXISTS in front of it.

CREATE TABLE IF NOT EXISTS OrleansQuery
(
    QueryKey  varchar(64) NOT NULL,
    QueryText text        NOT NULL,

    CONSTRAINT PK_OrleansQuery PRIMARY KEY (QueryKey)
);
