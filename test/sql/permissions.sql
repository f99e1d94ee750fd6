-- Per-model permissions.  The owner of a model (or a member of the owning
-- role, or a superuser) replaces, renames, drops, grants and revokes it;
-- other roles use its weights (hrm_forward, hrm_export, and everything that
-- goes through the model cache: hrm_solve, hrm_evaluate) only when granted
-- with hrm_grant.  pg_regress runs as a superuser: SET ROLE / SET SESSION
-- AUTHORIZATION act as the other roles.  The roles are dropped at the end.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS hrm;

-- SQLSTATE and message of a statement, or 'ok'; runs in a subtransaction.
CREATE FUNCTION pg_temp.sqlstate(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- What a role may do with model m: run it, export it (SQLSTATE or ok each).
CREATE FUNCTION pg_temp.uses(m text) RETURNS text LANGUAGE sql AS $$
SELECT format('forward %s, export %s',
              pg_temp.sqlstate(format('SELECT count(*) FROM hrm_forward(%L, array_fill(1, ARRAY[81]))', m)),
              pg_temp.sqlstate(format('SELECT hrm_export(%L)', m)))
$$;

-- Leftovers of an interrupted earlier run (roles are cluster-wide).
DROP ROLE IF EXISTS regress_hrm_owner, regress_hrm_reader, regress_hrm_other, regress_hrm_team;

CREATE ROLE regress_hrm_owner;
CREATE ROLE regress_hrm_reader;
CREATE ROLE regress_hrm_other;
CREATE ROLE regress_hrm_team;

\set w `base64 -w0 "${HRM_FIXTURES:-test/fixtures}/sudoku-tiny.weights.safetensors"`
CREATE TEMP TABLE fx (file bytea);
INSERT INTO fx VALUES (decode(:'w', 'base64'));
\unset w
GRANT SELECT ON fx TO PUBLIC;

-- The owner imports a model: it can do everything with it.
SET SESSION AUTHORIZATION regress_hrm_owner;
SELECT hrm_import('perm-model', file) FROM fx;
SELECT name, owner, readers FROM hrm.models;
SELECT pg_temp.uses('perm-model') AS owner_uses;
SELECT md5(hrm_export('perm-model')) AS owner_md5 \gset
RESET SESSION AUTHORIZATION;

-- A role that is neither owner, superuser nor granted cannot use it, nor
-- change it.
SET ROLE regress_hrm_other;
SELECT current_user, pg_temp.uses('perm-model') AS ungranted_uses;
SELECT pg_temp.sqlstate($$SELECT hrm_import('perm-model', file) FROM fx$$) AS replace;
SELECT pg_temp.sqlstate($$SELECT hrm_rename_model('perm-model', 'mine')$$) AS rename;
SELECT pg_temp.sqlstate($$SELECT hrm_drop_model('perm-model')$$) AS drop;
SELECT pg_temp.sqlstate($$SELECT hrm_grant('perm-model', 'regress_hrm_other')$$) AS grant_self;
SELECT pg_temp.sqlstate($$SELECT hrm_revoke('perm-model', 'regress_hrm_reader')$$) AS revoke;
SELECT pg_temp.sqlstate($$UPDATE hrm.model SET acl_lo = 0$$) AS update_catalog;
SELECT regexp_replace(pg_temp.sqlstate(format('GRANT SELECT ON LARGE OBJECT %s TO regress_hrm_other',
                                              (SELECT acl_lo FROM hrm.model WHERE name = 'perm-model'))),
                      'object \d+', 'object N') AS grant_directly;
-- the errors in full
SELECT count(*) FROM hrm_forward('perm-model', array_fill(1, ARRAY[81]));
SELECT hrm_export('perm-model');
SELECT hrm_grant('perm-model', 'regress_hrm_other');
RESET ROLE;

-- The owner grants the use of the model to another role.
SET ROLE regress_hrm_owner;
SELECT hrm_grant('perm-model', 'regress_hrm_reader') AS granted;
SELECT hrm_grant('perm-model', 'regress_hrm_reader') AS granted_again;
SELECT name, readers FROM hrm.models;
RESET ROLE;

-- The granted role runs and exports it (the same bytes as the owner's
-- export), but still cannot change it or pass the grant on.
SET ROLE regress_hrm_reader;
SELECT pg_temp.uses('perm-model') AS reader_uses;
SELECT md5(hrm_export('perm-model')) = :'owner_md5' AS same_export;
SELECT segment, q_halt IS NOT NULL AS has_q FROM hrm_forward('perm-model', array_fill(1, ARRAY[81]), segments => 2);
SELECT pg_temp.sqlstate($$SELECT hrm_import('perm-model', file) FROM fx$$) AS replace;
SELECT pg_temp.sqlstate($$SELECT hrm_rename_model('perm-model', 'mine')$$) AS rename;
SELECT pg_temp.sqlstate($$SELECT hrm_drop_model('perm-model')$$) AS drop;
SELECT pg_temp.sqlstate($$SELECT hrm_grant('perm-model', 'regress_hrm_other')$$) AS grant_on;
RESET ROLE;
-- ... while other roles still cannot use it.
SET ROLE regress_hrm_other;
SELECT pg_temp.uses('perm-model') AS other_uses;
RESET ROLE;

-- A grant to a role covers its members; 'public' covers every role.
SET ROLE regress_hrm_owner;
SELECT hrm_grant('perm-model', 'regress_hrm_team') AS granted_team;
RESET ROLE;
GRANT regress_hrm_team TO regress_hrm_other;
SET ROLE regress_hrm_other;
SELECT pg_temp.uses('perm-model') AS team_member_uses;
RESET ROLE;
REVOKE regress_hrm_team FROM regress_hrm_other;
SET ROLE regress_hrm_other;
SELECT pg_temp.uses('perm-model') AS former_member_uses;
RESET ROLE;
SET ROLE regress_hrm_owner;
SELECT hrm_grant('perm-model', 'public') AS granted_public;
SELECT readers FROM hrm.models WHERE name = 'perm-model';
RESET ROLE;
SET ROLE regress_hrm_other;
SELECT pg_temp.uses('perm-model') AS public_uses;
RESET ROLE;
SET ROLE regress_hrm_owner;
SELECT hrm_revoke('perm-model', 'public') AS revoked_public,
       hrm_revoke('perm-model', 'regress_hrm_team') AS revoked_team;
RESET ROLE;
SET ROLE regress_hrm_other;
SELECT pg_temp.uses('perm-model') AS after_revoke_public;
RESET ROLE;

-- Revoking takes effect at the next call, even in a session that has the
-- model loaded already (this one: the reader ran it above).
SET ROLE regress_hrm_reader;
SELECT pg_temp.uses('perm-model') AS reader_before_revoke;
RESET ROLE;
SET ROLE regress_hrm_owner;
SELECT hrm_revoke('perm-model', 'regress_hrm_reader') AS revoked;
SELECT hrm_revoke('perm-model', 'regress_hrm_reader') AS revoked_again;
SELECT name, readers FROM hrm.models;
RESET ROLE;
SET ROLE regress_hrm_reader;
SELECT pg_temp.uses('perm-model') AS reader_after_revoke;
RESET ROLE;

-- A member of the owning role acts as the owner.
GRANT regress_hrm_owner TO regress_hrm_team;
SET ROLE regress_hrm_team;
SELECT pg_temp.uses('perm-model') AS owner_member_uses;
SELECT hrm_grant('perm-model', 'regress_hrm_reader') AS member_grants;
RESET ROLE;
REVOKE regress_hrm_owner FROM regress_hrm_team;

-- Grants follow the model through a rename and a replace (new weights), and
-- go with it when it is dropped: a new model of the same name starts
-- private.
SET ROLE regress_hrm_owner;
SELECT hrm_rename_model('perm-model', 'perm-renamed');
SELECT hrm_import('perm-renamed', file) FROM fx;
SELECT name, readers FROM hrm.models;
RESET ROLE;
SET ROLE regress_hrm_reader;
SELECT pg_temp.uses('perm-renamed') AS reader_after_rename_replace;
RESET ROLE;
SET ROLE regress_hrm_owner;
SELECT hrm_drop_model('perm-renamed');
SELECT hrm_import('perm-renamed', file) FROM fx;
SELECT name, readers FROM hrm.models;
RESET ROLE;
SET ROLE regress_hrm_reader;
SELECT pg_temp.uses('perm-renamed') AS reader_after_drop_recreate;
RESET ROLE;

-- Superusers use, grant and revoke any model.
SELECT pg_temp.uses('perm-renamed') AS superuser_uses;
SELECT hrm_grant('perm-renamed', 'regress_hrm_other') AS superuser_grants;
SELECT hrm_revoke('perm-renamed', 'regress_hrm_other') AS superuser_revokes;

-- Argument errors: unknown model 42704, unknown role 42704 (for revoke
-- too, like REVOKE: a role holding a grant cannot be dropped), NULL is
-- NULL (STRICT).
SELECT pg_temp.sqlstate($$SELECT hrm_grant('no such model', 'regress_hrm_reader')$$) AS grant_unknown_model;
SELECT pg_temp.sqlstate($$SELECT hrm_revoke('no such model', 'regress_hrm_reader')$$) AS revoke_unknown_model;
SELECT pg_temp.sqlstate($$SELECT hrm_grant('perm-renamed', 'regress_hrm_nobody')$$) AS grant_unknown_role;
SELECT pg_temp.sqlstate($$SELECT hrm_revoke('perm-renamed', 'regress_hrm_nobody')$$) AS revoke_unknown_role;
SELECT hrm_grant('perm-renamed', NULL) IS NULL AS null_role;
-- a grant is a dependency of its role (pg_shdepend, as for any GRANT):
-- DROP ROLE refuses while it exists (2BP01), and works once revoked
-- (security.sql: DROP OWNED, REASSIGN OWNED, re-created roles)
CREATE ROLE regress_hrm_gone;
SELECT hrm_grant('perm-renamed', 'regress_hrm_gone');
SELECT pg_temp.sqlstate('DROP ROLE regress_hrm_gone') ~ '^2BP01: role "regress_hrm_gone" cannot be dropped' AS drop_refused;
SELECT readers FROM hrm.models WHERE name = 'perm-renamed';
SELECT hrm_revoke('perm-renamed', 'regress_hrm_gone') AS revoke_before_drop;
DROP ROLE regress_hrm_gone;

-- Clean up: models, then the roles.
SELECT hrm_drop_model(name) FROM hrm.model ORDER BY name;
SELECT count(*) AS large_objects_left FROM pg_largeobject_metadata;
DROP OWNED BY regress_hrm_owner, regress_hrm_reader, regress_hrm_other, regress_hrm_team;
DROP ROLE regress_hrm_owner, regress_hrm_reader, regress_hrm_other, regress_hrm_team;
