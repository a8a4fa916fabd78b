import { invalidOption } from './errors.js';
import { quoteIdent, type SchemaNames } from './sql.js';

/** What `grantAppRole` did. */
export interface AppRoleReport {
  readonly role: string;
  /** `true` when the role was created by this call (else it existed and was granted again). */
  readonly created: boolean;
}

/** How the connected login relates to the store's tables (for `keyward doctor`). */
export interface ConnectionPrivileges {
  readonly user: string;
  /** Owner of the audit table. */
  readonly owner: string | null;
  readonly superuser: boolean;
  /** `true` when this login may UPDATE, DELETE or TRUNCATE the audit table, or owns it (and so could disable its triggers). */
  readonly canRewriteAudit: boolean;
}

const ROLE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

export function checkRoleName(role: unknown): string {
  if (typeof role !== 'string' || !ROLE_NAME.test(role)) {
    throw invalidOption('appRole', role, 'must be a lowercase PostgreSQL role name (a-z, 0-9, _; at most 63 characters)');
  }
  return role;
}

/**
 * The grants of the application's role: it reads and writes keys, rotations, the
 * change log and the usage counts (every lifecycle operation, the console's batches;
 * granted per schema, so tables added by later migrations are covered after the next
 * grant), reads the migrations table, and may only
 * INSERT and SELECT audit rows. It owns nothing, so it cannot disable the audit
 * table's append-only triggers. Run as the owner after each migrate (new tables).
 */
export function appRoleGrants(n: SchemaNames, role: string): string[] {
  const r = quoteIdent(role);
  return [
    `GRANT USAGE ON SCHEMA ${n.quoted} TO ${r}`,
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${n.quoted} TO ${r}`,
    `REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${n.migrations} FROM ${r}`,
    `REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON ${n.audit} FROM ${r}`,
  ];
}

/** `CREATE ROLE` / `ALTER ROLE` text: LOGIN, no superuser, no role or database creation; the password as a literal (never logged). */
export function roleStatement(role: string, exists: boolean, password: string | undefined): string {
  const verb = exists ? 'ALTER' : 'CREATE';
  const secret = password === undefined ? '' : ` PASSWORD '${password.replaceAll("'", "''")}'`;
  return `${verb} ROLE ${quoteIdent(role)} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS${secret}`;
}

/** The privileges query behind `ConnectionPrivileges` (one row). */
export function privilegesSql(n: SchemaNames): { text: string; values: unknown[] } {
  return {
    text: `SELECT current_user AS "user",
              (SELECT pg_get_userbyid(c.relowner) FROM pg_class c WHERE c.oid = to_regclass($1)) AS owner,
              (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS superuser,
              (to_regclass($1) IS NOT NULL AND (pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = to_regclass($1)), 'USAGE')
                OR has_table_privilege(to_regclass($1), 'UPDATE') OR has_table_privilege(to_regclass($1), 'DELETE')
                OR has_table_privilege(to_regclass($1), 'TRUNCATE'))) AS can_rewrite`,
    values: [n.audit],
  };
}
