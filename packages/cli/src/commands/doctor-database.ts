import { isKeywardError, isValidTime, type Keyward, OPEN_ROTATION_STATES } from '@keyward/core';
import { describeError } from '../errors.js';
import { badTimes } from './list.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

/** The schema versions a store's error reports (SQLite says `supportedVersion`, PostgreSQL `codeVersion`). */
function versions(error: unknown): { found: number; known: number } | undefined {
  if (!isKeywardError(error)) return undefined;
  const d = error.details as Record<string, unknown>;
  const known = d.supportedVersion ?? d.codeVersion;
  return typeof d.schemaVersion === 'number' && typeof known === 'number' ? { found: d.schemaVersion, known } : undefined;
}

/** What went wrong opening the database, in words that lead to the right fix. */
function databaseFailure(error: unknown, where: string): Check {
  const message = describeError(error);
  if (isKeywardError(error) && (error.details as Record<string, unknown>).missing === true) {
    return { name: 'database', ok: false, detail: message };
  }
  const v = versions(error);
  if (v !== undefined && v.found > v.known) {
    return {
      name: 'schema',
      ok: false,
      detail: `the database is newer than this keyward: schema version ${v.found}, this keyward knows up to ${v.known}. Upgrade keyward; do not run migrate (it refuses a newer schema)`,
    };
  }
  if (v !== undefined) {
    return { name: 'schema', ok: false, detail: `schema version ${v.found}, this keyward needs ${v.known}. Run: keyward migrate` };
  }
  return { name: 'database', ok: false, detail: `${where}: ${message}` };
}

/** Rows holding a time no date can (a duration written before they were capped): each named, with its client. */
async function dataCheck(keyward: Keyward): Promise<Check> {
  const [keys, rotations] = await Promise.all([keyward.listKeys(), keyward.store.listRotations({ state: OPEN_ROTATION_STATES })]);
  const problems = [
    ...keys.flatMap((k) => (badTimes(k).length > 0 ? [`key ${k.fingerprint} of ${k.clientId}: ${badTimes(k).join(', ')}`] : [])),
    ...rotations
      .filter((r) => !isValidTime(r.graceUntil))
      .map((r) => `rotation ${r.id} of ${r.clientId}: graceUntil ${r.graceUntil} (it would never finalize)`),
  ];
  if (problems.length === 0) return { name: 'data', ok: true, detail: `${keys.length} key(s), every time a valid date` };
  return {
    name: 'data',
    ok: false,
    detail: `${problems.length} row(s) hold a time no date can hold: ${problems.join('; ')}. Revoke or abort them (keyward revoke / keyward abort)`,
  };
}

/** database answers → schema at this keyward's version → rows readable; stops at the first failure. */
export async function databaseChecks(keyward: Keyward, where: string): Promise<Check[]> {
  try {
    await keyward.store.listKeys({ limit: 1 });
  } catch (error) {
    return [databaseFailure(error, where)];
  }
  const checks: Check[] = [
    { name: 'database', ok: true, detail: `${where} answers` },
    { name: 'schema', ok: true, detail: 'at the version this keyward expects' },
  ];
  try {
    checks.push(await dataCheck(keyward));
  } catch (error) {
    checks.push({ name: 'data', ok: false, detail: `could not read every key: ${describeError(error)}` });
  }
  return checks;
}
