import { type Keyward, lastAnchorInFile } from '@keyward/core';
import { describeError } from '../errors.js';
import type { Check } from './doctor-database.js';

interface PrivilegeReporting {
  connectionPrivileges(): Promise<{ user: string; owner: string | null; superuser: boolean; canRewriteAudit: boolean }>;
}

function reportsPrivileges(store: unknown): store is PrivilegeReporting {
  return typeof (store as Partial<PrivilegeReporting>).connectionPrivileges === 'function';
}

/**
 * Who the app runs as. PostgreSQL: the owner (or a superuser, or a login granted
 * UPDATE/DELETE/TRUNCATE on the audit table) could disable the append-only triggers:
 * reported, not failed (a single-owner setup is legal), with the way out. SQLite: an
 * embedded file has no roles; anchors are the defence.
 */
export async function appRoleCheck(keyward: Keyward): Promise<Check> {
  const { store } = keyward;
  if (!reportsPrivileges(store)) {
    return {
      name: 'app role',
      ok: true,
      detail: 'embedded file: whoever can write it can rewrite the audit trail; publish anchors (KEYWARD_AUDIT_ANCHORS)',
    };
  }
  try {
    const p = await store.connectionPrivileges();
    if (!p.canRewriteAudit)
      return { name: 'app role', ok: true, detail: `runs as ${p.user}, not the owner (${p.owner}): audit rows INSERT and SELECT only` };
    const why = p.superuser
      ? 'a superuser'
      : p.user === p.owner
        ? 'the owner of the tables'
        : `a login that may rewrite audit rows (owner ${p.owner})`;
    return {
      name: 'app role',
      ok: true,
      detail: `runs as ${p.user}, ${why}: it could disable the audit triggers. For least privilege: keyward migrate --app-role <name>, then run the app as that role`,
    };
  } catch (error) {
    return { name: 'app role', ok: false, detail: `could not read the privileges: ${describeError(error)}` };
  }
}

/** The last anchor in KEYWARD_AUDIT_ANCHORS, checked against the trail (streamed). A failed anchor fails the doctor. */
export async function anchorCheck(keyward: Keyward, file: string | undefined): Promise<Check> {
  if (file === undefined || file === '') {
    return { name: 'anchor', ok: true, detail: 'no anchor file (KEYWARD_AUDIT_ANCHORS unset): anchors go to the scheduler log only' };
  }
  try {
    const last = await lastAnchorInFile(file);
    if (last === undefined)
      return { name: 'anchor', ok: true, detail: `${file} holds no anchor yet (the scheduler writes one on its next pass)` };
    const report = await keyward.verifyAuditChain({ anchors: [last] });
    const what = `last anchor ${last.seq}:${last.hash.slice(0, 16)}…${last.at ? ` at ${last.at}` : ''}${last.signature ? ' (signed)' : ''}`;
    if (report.ok) return { name: 'anchor', ok: true, detail: `${what} holds; the trail has ${report.count} rows` };
    return { name: 'anchor', ok: false, detail: `${what} FAILS: ${report.problem}. Run: keyward audit --verify --anchors ${file}` };
  } catch (error) {
    return { name: 'anchor', ok: false, detail: `cannot check ${file}: ${describeError(error)}` };
  }
}
