import { html } from 'hono/html';
import type { DeliveryCounts, DeliveryMeasure } from '../../domain/monitor/delivery-daily.js';

// Delivery counts per day as small multiples: one bar chart per measure, each on its own scale
// (a handful of complaints stays visible beside thousands delivered), drawn as inline SVG on the
// server: no script, no library. The grid puts two side by side on a wide screen and one under
// the other on a phone; the same numbers are in the tables below. Each bar carries its day and count.

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

function measureChart(o: { scope: string; days: string[]; measure: DeliveryMeasure; value: (day: string) => number }) {
  const w = 320;
  const h = 140;
  const pad = { l: 34, r: 16, t: 8, b: 20 };
  const top = niceMax(Math.max(0, ...o.days.map(o.value)));
  const slot = (w - pad.l - pad.r) / Math.max(1, o.days.length);
  const y = (v: number) => pad.t + (1 - v / top) * (h - pad.t - pad.b);
  // About five day labels, counted back from the last day so it always has one.
  const every = Math.max(1, Math.ceil(o.days.length / 5));
  const total = o.days.reduce((n, d) => n + o.value(d), 0);
  const label = `${o.measure} per day, ${o.scope}: ${total} in ${o.days.length} days`;
  return html`<figure style="margin:0">
    <svg
      role="img"
      aria-label="${label}"
      data-measure="${o.measure}"
      viewBox="0 0 ${w} ${h}"
      style="width:100%;height:auto;background:#fff"
      xmlns="http://www.w3.org/2000/svg"
      font-size="10"
    >
      <title>${label}</title>
      ${[0, top].map((v) => html`<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#d0d5db" /><text x="${pad.l - 4}" y="${y(v) + 3}" text-anchor="end">${v}</text>`)}
      ${o.days.map((d, i) => {
        const v = o.value(d);
        const x = pad.l + i * slot;
        return html`<rect
            x="${(x + slot * 0.15).toFixed(1)}"
            y="${y(v).toFixed(1)}"
            width="${(slot * 0.7).toFixed(1)}"
            height="${(y(0) - y(v)).toFixed(1)}"
            fill="${colours[o.measure]}"
            data-day="${d}"
            data-count="${v}"
            ><title>${d}: ${v} ${o.measure}</title></rect
          >${
            (o.days.length - 1 - i) % every === 0
              ? html`<text x="${(x + slot / 2).toFixed(1)}" y="${h - 6}" text-anchor="middle">${d.slice(5)}</text>`
              : ''
          }`;
      })}
    </svg>
    <figcaption><span style="color:${colours[o.measure]}">■</span> <strong>${o.measure}</strong>: ${total}</figcaption>
  </figure>`;
}

export function deliveryCharts(o: { scope: string; days: string[]; counts: Map<string, DeliveryCounts>; measures: readonly DeliveryMeasure[] }) {
  return html`<div class="charts" style="display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:1rem;margin:0 0 1rem">
    ${o.measures.map((measure) => measureChart({ scope: o.scope, days: o.days, measure, value: (d) => o.counts.get(d)?.[measure] ?? 0 }))}
  </div>`;
}
