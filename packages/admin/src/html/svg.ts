import { html, type SafeHtml } from './html.js';

/**
 * Requests per hour of the old and the new key, as a server-rendered SVG bar chart
 * (two bars per hour; no script, no inline style: colours come from classes in
 * admin.css). The numbers are also in the chart's title and the table next to it.
 */
export function usageChart(
  hours: readonly number[],
  oldPerHour: readonly number[],
  newPerHour: readonly number[],
  label: string,
): SafeHtml {
  const width = 320;
  const height = 80;
  const n = Math.max(1, hours.length);
  const max = Math.max(1, ...oldPerHour, ...newPerHour);
  const slot = width / n;
  const bar = Math.max(1, slot / 2 - 1);
  const bars = hours.map((_, i) => {
    const o = ((oldPerHour[i] ?? 0) / max) * (height - 12);
    const w = ((newPerHour[i] ?? 0) / max) * (height - 12);
    const x = i * slot;
    return html`<rect class="old" x="${x.toFixed(1)}" y="${(height - o).toFixed(1)}" width="${bar.toFixed(1)}" height="${o.toFixed(1)}"></rect><rect class="new" x="${(x + bar + 1).toFixed(1)}" y="${(height - w).toFixed(1)}" width="${bar.toFixed(1)}" height="${w.toFixed(1)}"></rect>`;
  });
  const total = (a: readonly number[]) => a.reduce((s, v) => s + v, 0);
  const title = `${label}: old key ${total(oldPerHour)} requests, new key ${total(newPerHour)} requests over ${hours.length} h (peak ${max}/h)`;
  return html`<svg class="chart" role="img" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" aria-label="${title}"><title>${title}</title><line class="axis" x1="0" y1="${height - 0.5}" x2="${width}" y2="${height - 0.5}"></line>${bars}</svg>`;
}

/** Keys by status as a horizontal stacked bar. */
export function statusBar(counts: Record<string, number>): SafeHtml {
  const total = Object.values(counts).reduce((s, v) => s + v, 0);
  const width = 320;
  let x = 0;
  const parts = Object.entries(counts).map(([status, count]) => {
    const w = total === 0 ? 0 : (count / total) * width;
    const rect = html`<rect class="s-${status}" x="${x.toFixed(1)}" y="0" width="${w.toFixed(1)}" height="16"></rect>`;
    x += w;
    return rect;
  });
  const title = Object.entries(counts)
    .map(([s, c]) => `${c} ${s}`)
    .join(', ');
  return html`<svg class="chart" role="img" viewBox="0 0 ${width} 16" width="${width}" height="16" aria-label="Keys by status: ${title}"><title>Keys by status: ${title}</title>${parts}</svg>`;
}
