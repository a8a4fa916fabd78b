export { createMetrics, type KeywardMetrics } from './metrics.js';
export type { MetricsOptions } from './options.js';
