import { html } from 'hono/html';

// An IP's score (0-100) over time, one line per provider, drawn as inline SVG on the server: no
// charting library, no script, and the numbers are also in the table beside it.

const colours = ['#1f4f8a', '#c2410c', '#15803d', '#7e22ce', '#b91c1c', '#0e7490', '#a16207', '#4b5563'];

export interface Series {
  provider: string;
  points: { at: number; score: number }[];
}

export function scoreChart(o: { label: string; from: number; to: number; series: Series[] }) {
  const w = 560;
  const h = 160;
  const pad = { l: 30, r: 10, t: 10, b: 22 };
  const x = (at: number) => pad.l + ((at - o.from) / Math.max(1, o.to - o.from)) * (w - pad.l - pad.r);
  const y = (score: number) => pad.t + (1 - score / 100) * (h - pad.t - pad.b);
  const day = 24 * 3_600_000;
  const ticks = Array.from({ length: 8 }, (_, i) => o.from + i * day).filter((t) => t <= o.to);
  return html`<figure class="chart">
    <svg role="img" aria-label="${o.label}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" xmlns="http://www.w3.org/2000/svg" font-size="10">
      <title>${o.label}</title>
      ${[0, 50, 100].map((v) => html`<line x1="${pad.l}" x2="${w - pad.r}" y1="${y(v)}" y2="${y(v)}" stroke="#d0d5db" /><text x="${pad.l - 4}" y="${y(v) + 3}" text-anchor="end">${v}</text>`)}
      ${ticks.map((t) => html`<text x="${x(t)}" y="${h - 6}" text-anchor="middle">${new Date(t).toISOString().slice(5, 10)}</text>`)}
      ${o.series.map(
        (s, i) =>
          html`<polyline
            fill="none"
            stroke-width="2"
            stroke="${colours[i % colours.length]}"
            points="${s.points.map((p) => `${x(p.at).toFixed(1)},${y(p.score).toFixed(1)}`).join(' ')}"
            ><title>${s.provider}</title></polyline
          >`,
      )}
    </svg>
    <figcaption>
      ${o.series.map((s, i) => html`<span style="color:${colours[i % colours.length]}">■</span> ${s.provider} (${s.points.at(-1)?.score ?? '-'}) `)}
    </figcaption>
  </figure>`;
}
