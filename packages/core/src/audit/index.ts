export {
  type AuditAnchor,
  anchorSignatureValid,
  anchorSigningText,
  checkAnchor,
  ed25519Key,
  parseAnchor,
  parseAnchorLines,
  signAnchor,
} from './anchor.js';
export { lastAnchorInFile } from './anchor-file.js';
export type { AuditAnchorConfig, AuditAnchorOptions } from './anchor-options.js';
export { AuditAnchorPublisher } from './anchor-publisher.js';
export { AUDIT_PAGE_SIZE, auditPages, auditScanPages } from './audit-pages.js';
export type { VerifyAuditOptions } from './verify-options.js';
export { type AnchorProblem, type AuditVerifyReport, describeAuditProblem, verifyAuditScan, verifyAuditStream } from './verify-stream.js';
