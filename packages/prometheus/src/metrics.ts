import { Counter, Gauge } from 'prom-client';
import { KEY_STATUSES, type KeyStatus, type Keyward } from './core.js';
import { type MetricsOptions, resolveMetricsOptions } from './options.js';

export interface KeywardMetrics {
  /** Stops counting (unsubscribes) and removes the metrics from the registry. */
  close(): void;
}

/**
 * Prometheus metrics for a keyward instance: counters fed by its events (and the
 * scheduler's), a keys-by-status gauge read from the store on scrape, and the
 * scheduler's last successful pass. Serve them with `registry.metrics()`.
 */
export function createMetrics(keyward: Keyward, options: MetricsOptions = {}): KeywardMetrics {
  const config = resolveMetricsOptions(keyward, options);
  const { registry, prefix, store, scheduler, keyCountCacheTtlMs } = config;
  const registers = [registry];
  const logger = keyward.config.logger;
  const counter = (name: string, help: string, labelNames: string[] = []) =>
    new Counter({ name: `${prefix}${name}`, help, labelNames, registers });

  let cached: { at: number; counts: Record<KeyStatus, number> } | undefined;
  const keys = new Gauge({
    name: `${prefix}keys`,
    help: 'Stored keys by status (read from the store on scrape, cached briefly).',
    labelNames: ['status'],
    registers,
    async collect() {
      const now = Date.now();
      if (!cached || now - cached.at >= keyCountCacheTtlMs) {
        try {
          const counts = Object.fromEntries(KEY_STATUSES.map((s) => [s, 0])) as Record<KeyStatus, number>;
          for (const key of await store.listKeys({})) counts[key.status] += 1;
          cached = { at: now, counts };
        } catch (error) {
          logger.warn({ err: { message: (error as Error).message } }, '@keyward/prometheus: could not count keys; keeping the last values');
          if (!cached) return;
        }
      }
      for (const status of KEY_STATUSES) this.set({ status }, cached.counts[status]);
    },
  });
  const issued = counter('keys_issued_total', 'Keys issued.');
  const revoked = counter('keys_revoked_total', 'Keys revoked.');
  const purged = counter('keys_purged_total', 'Retired keys purged after retention.');
  const started = counter('rotations_started_total', 'Rotations started.');
  const completed = counter('rotations_completed_total', 'Rotations completed (finalized).');
  const failed = counter('rotations_failed_total', 'Rotations failed (e.g. delivery kept failing, crashed rotation rolled back).');
  const aborted = counter('rotations_aborted_total', 'Rotations aborted on purpose.');
  const deliveriesFailed = counter('deliveries_failed_total', 'Key deliveries that failed for good, by sink.', ['sink']);
  const oldKeyUses = counter('old_key_uses_total', 'Uses of a rotated-out key: during its grace (accepted) or after it (rejected).', [
    'phase',
  ]);
  const revokedUses = counter('revoked_key_uses_total', 'Requests made with a revoked key.');
  const expiredUses = counter('expired_key_uses_total', 'Requests made with an expired key.');
  const unknownUses = counter('unknown_key_attempts_total', 'Well-formed keys that match no stored key.');
  const leaked = counter('keys_leaked_total', 'Keys of this deployment reported leaked, by outcome (revoked, rotated, already_retired).', [
    'outcome',
  ]);
  const expiring = counter('keys_expiring_notices_total', 'key.expiring notices raised (no sink, or a rotation waiting for a retry).');
  const orphans = counter('orphans_total', 'Orphans found by the scheduler, by problem.', ['problem']);
  const lastSuccess = new Gauge({
    name: `${prefix}scheduler_last_success_timestamp_seconds`,
    help: 'Unix time of the last scheduler pass that ran every step (0: none yet).',
    registers,
  });
  const lastDuration = new Gauge({
    name: `${prefix}scheduler_last_pass_duration_seconds`,
    help: 'Wall time of the last scheduler pass.',
    registers,
  });
  // The known-keys filter (issue 16) and the change log that feeds it: read on scrape.
  const gauge = (name: string, help: string, read: () => number | undefined) =>
    new Gauge({
      name: `${prefix}${name}`,
      help,
      registers,
      collect() {
        const value = read();
        if (value !== undefined) this.set(value);
      },
    });
  const filterGauges = [
    gauge('known_keys_filter_ready', '1 when the known-keys filter decides (unknown keys cost no lookup), else 0.', () =>
      keyward.knownKeysStatus() === undefined ? undefined : Number(keyward.knownKeysStatus()?.ready),
    ),
    gauge('known_keys_filter_keys', 'Key hashes in the known-keys filter.', () => keyward.knownKeysStatus()?.keys),
    gauge('known_keys_filter_bytes', 'Memory of the known-keys filter.', () => keyward.knownKeysStatus()?.bytes),
    gauge(
      'known_keys_filter_false_positive_rate',
      'Expected share of made-up keys the filter lets through to a lookup.',
      () => keyward.knownKeysStatus()?.falsePositiveRate,
    ),
    gauge(
      'known_keys_ruled_out',
      'Keys the filter ruled out since start (a counter read on scrape).',
      () => keyward.knownKeysStatus()?.ruledOut,
    ),
    gauge(
      'known_keys_budget_lookups',
      'Ruled-out keys looked up anyway on the lookup budget since start (a counter read on scrape).',
      () => keyward.knownKeysStatus()?.budget.spent,
    ),
    gauge('change_log_last_seq', 'The last change-log position this process applied.', () => keyward.changeLogStatus()?.lastSeq),
    gauge(
      'change_log_read_age_seconds',
      'Seconds since this process last read the change log: how far behind its filter and caches may be.',
      () => {
        const at = keyward.changeLogStatus()?.lastReadAt;
        return at === undefined || at === null ? undefined : Math.max(0, (keyward.config.clock.now() - at) / 1000);
      },
    ),
  ];
  const passes = counter('scheduler_passes_total', 'Scheduler passes, by outcome (ok, failed, skipped_locked).', ['outcome']);
  lastSuccess.set(0);

  const offs = [
    keyward.on('key.issued', () => issued.inc()),
    keyward.on('key.revoked', () => revoked.inc()),
    keyward.on('key.purged', () => purged.inc()),
    keyward.on('key.rotated', () => started.inc()),
    keyward.on('key.finalized', () => completed.inc()),
    keyward.on('rotation.failed', () => failed.inc()),
    keyward.on('rotation.aborted', () => aborted.inc()),
    keyward.on('key.used_in_grace', () => oldKeyUses.inc({ phase: 'in_grace' })),
    keyward.on('key.rejected', (e) => {
      if (e.reason === 'inactive') oldKeyUses.inc({ phase: 'after_grace' });
      else if (e.reason === 'revoked') revokedUses.inc();
      else if (e.reason === 'expired') expiredUses.inc();
      else unknownUses.inc();
    }),
    keyward.on('key.expiring', () => expiring.inc()),
    keyward.on('key.leaked', (e) => leaked.inc({ outcome: e.outcome })),
    keyward.on('key.orphaned', (e) => orphans.inc({ problem: e.problem })),
  ];
  if (scheduler) {
    offs.push(
      scheduler.on('deliveryFailed', (e) => deliveriesFailed.inc({ sink: e.sink })),
      scheduler.on('pass', (report) => {
        if (report.skippedLocked) return passes.inc({ outcome: 'skipped_locked' });
        passes.inc({ outcome: report.ok ? 'ok' : 'failed' });
        lastDuration.set(report.durationMs / 1000);
        // The scheduler's own record: keyward-clock time of the last complete pass.
        if (report.ok && scheduler.lastSuccessAt !== undefined) lastSuccess.set(scheduler.lastSuccessAt / 1000);
      }),
    );
  }
  const all = [
    keys,
    issued,
    revoked,
    purged,
    started,
    completed,
    failed,
    aborted,
    deliveriesFailed,
    oldKeyUses,
    revokedUses,
    expiredUses,
    unknownUses,
    leaked,
    expiring,
    orphans,
    lastSuccess,
    lastDuration,
    ...filterGauges,
    passes,
  ];
  return {
    close() {
      for (const off of offs.splice(0)) off();
      for (const metric of all) registry.removeSingleMetric((metric as unknown as { name: string }).name);
    },
  };
}
