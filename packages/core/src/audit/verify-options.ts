import type { KeyObject } from 'node:crypto';
import { invalidOption } from '../errors.js';
import { type AuditAnchor, checkAnchor, ed25519Key } from './anchor.js';
import { AUDIT_PAGE_SIZE } from './audit-pages.js';

export interface VerifyAuditOptions {
  /** Published heads to check (see `AuditAnchorPublisher`, `parseAnchorLines`). Default: none. */
  anchors?: readonly AuditAnchor[];
  /** Ed25519 public key (KeyObject or PEM): each anchor must carry a signature it verifies. Default: signatures not checked. */
  publicKey?: KeyObject | string;
  /** Rows per keyset page. Default `2000` (`AUDIT_PAGE_SIZE`). */
  pageSize?: number;
}

export function resolveVerifyAuditOptions(options: VerifyAuditOptions): {
  anchors: AuditAnchor[];
  publicKey: KeyObject | undefined;
  pageSize: number;
} {
  if (typeof options !== 'object' || options === null) throw invalidOption('verifyAuditChain.options', options, 'must be an object');
  const list = options.anchors ?? [];
  if (!Array.isArray(list)) throw invalidOption('verifyAuditChain.anchors', list, 'must be an array of { seq, hash }');
  const anchors = list.map((a, i) => checkAnchor(a, `verifyAuditChain.anchors[${i}]`));
  const publicKey = options.publicKey === undefined ? undefined : ed25519Key(options.publicKey, 'public', 'verifyAuditChain.publicKey');
  const pageSize = options.pageSize ?? AUDIT_PAGE_SIZE;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1 || pageSize > 100_000)
    throw invalidOption('verifyAuditChain.pageSize', pageSize, 'must be an integer from 1 to 100000');
  return { anchors, publicKey, pageSize };
}
