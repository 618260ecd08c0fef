import { html } from 'hono/html';
import type { DeliveryCounts, DeliveryMeasure } from '../../domain/monitor/delivery-daily.js';

// Delivery counts per day, one line per measure, drawn as inline SVG on the server: no script,
// no library, scales to the screen's width (a phone's too), and the same numbers are in the table
// below it. Each point carries its day, measure and count for readers and tests.

const colours: Record<DeliveryMeasure, string> = {
  sent: '#1f4f8a',
  delivered: '#15803d',
  deferred: '#a16207',
  bounced: '#b91c1c',
  complained: '#7e22ce',
  suppressed: '#4b5563',
};

/** A round upper bound for the y axis (1, 2, 5, 10, 20, 50, ...). */
function niceMax(n: number): number {
  if (n <= 1) return 1;
  const p = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 5, 10].map((m) => m * p).find((v) => v >= n)!;
}

export function deliveryChart(o: { label: string; days: string[]; counts: Map<string, DeliveryCounts>; measures: readonly DeliveryMeasure[] }) {
  const w = 640;
  const h = 220;
  const pad = { l: 40, r: 12, t: 12, b: 26 };
  const value = (day: string, m: DeliveryMeasure) => o.counts.get(day)?.[m] ?? 0;
  const top = niceMax(Math.max(0, ...o.days.flatMap((d) => o.measures.map((m) => value(d, m)))));
  const x = (i: number) => pad.l + (o.days.length <= 1 ? 0.5 : i / (o.days.length - 1)) * (w - pad.l - pad.r);
  const y = (v: number) => pad.t + (1 - v / top) * (h - pad.t - pad.b);
  // At most about 8 day labels, whatever the range.
  const every = Math.max(1, Math.ceil(o.days.length / 8));
  return html`<figure class="chart" style="margin:0 0 1rem">
    <svg
      role="img"
      aria-label="${o.label}"
      viewBox="0 0 ${w} ${h}"
      style="width:100%;height:auto;max-width:${w}px;background:#fff"
      xmlns="http://www.w3.org/2000/svg"
      font-size="11"
    >
      <title>${o.label}</title>
      ${[0, top / 2, top].map((v) => html`<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#d0d5db" /><text x="${pad.l - 4}" y="${y(v) + 4}" text-anchor="end">${Number.isInteger(v) ? v : v.toFixed(1)}</text>`)}
      ${o.days.map((d, i) => (i % every === 0 || i === o.days.length - 1 ? html`<text x="${x(i)}" y="${h - 8}" text-anchor="middle">${d.slice(5)}</text>` : ''))}
      ${o.measures.map(
        (m) =>
          html`<g data-measure="${m}">
            <polyline
              fill="none"
              stroke-width="2"
              stroke="${colours[m]}"
              points="${o.days.map((d, i) => `${x(i).toFixed(1)},${y(value(d, m)).toFixed(1)}`).join(' ')}"
            />
            ${o.days.map(
              (d, i) =>
                html`<circle
                  cx="${x(i).toFixed(1)}"
                  cy="${y(value(d, m)).toFixed(1)}"
                  r="3"
                  fill="${colours[m]}"
                  data-day="${d}"
                  data-count="${value(d, m)}"
                  ><title>${d} ${m}: ${value(d, m)}</title></circle
                >`,
            )}
          </g>`,
      )}
    </svg>
    <figcaption>${o.measures.map((m) => html`<span style="color:${colours[m]}">■</span> ${m} `)}</figcaption>
  </figure>`;
}
