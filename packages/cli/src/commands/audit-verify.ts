import { readFile } from 'node:fs/promises';
import { type AuditAnchor, describeAuditProblem, type Keyward, parseAnchor, parseAnchorLines } from '@keyward/core';
import { OperationError, UsageError } from '../errors.js';
import type { Output } from '../output.js';

export interface AuditVerifyFlags {
  anchor?: string[];
  anchors?: string;
  anchorKey?: string;
}

async function readText(path: string, flag: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new UsageError(`${flag}: cannot read ${JSON.stringify(path)} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The anchors given by `--anchor <seq>:<hash>` (repeatable) and `--anchors <file>` of published lines. */
async function anchorsFrom(flags: AuditVerifyFlags): Promise<AuditAnchor[]> {
  const anchors = (flags.anchor ?? []).map((text) => parseAnchor(text, '--anchor'));
  if (flags.anchors !== undefined) anchors.push(...parseAnchorLines(await readText(flags.anchors, '--anchors'), flags.anchors));
  if (flags.anchors !== undefined && anchors.length === 0)
    throw new UsageError(`--anchors: no anchor found in ${JSON.stringify(flags.anchors)}`);
  return anchors;
}

/** `keyward audit --verify`: streams the chain, checks the anchors; exit 1 naming the first problem. */
export async function verifyAudit(keyward: Keyward, out: Output, flags: AuditVerifyFlags): Promise<void> {
  const anchors = await anchorsFrom(flags);
  const publicKey = flags.anchorKey === undefined ? undefined : await readText(flags.anchorKey, '--anchor-key');
  if (publicKey !== undefined && anchors.length === 0) throw new UsageError('--anchor-key needs anchors to check (--anchor or --anchors)');
  const report = await keyward.verifyAuditChain({ anchors, publicKey });
  if (out.json) out.data(report);
  if (!report.ok) throw new OperationError(describeAuditProblem(report));
  if (!out.json) {
    const held = anchors.length > 0 ? `; ${anchors.length} anchor(s) hold${publicKey ? ', signatures valid' : ''}` : '';
    out.info(`audit chain intact: ${report.count} rows, head ${report.count}:${report.lastHash}${held}`);
  }
}
