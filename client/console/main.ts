/**
 * The console's only script: on the live figures page, fetches /console/figures.json every
 * 10 seconds and updates the numbers in place (no reload). Other pages have no script.
 */
import './console.css';

const figures = document.getElementById('figures');
const source = figures?.dataset.source;

async function refresh(): Promise<void> {
  if (!figures || !source) return;
  try {
    const res = await fetch(source, { credentials: 'same-origin', cache: 'no-store' });
    if (!res.ok) return;
    const data = (await res.json()) as Record<string, number | null>;
    for (const cell of figures.querySelectorAll<HTMLElement>('[data-figure]')) {
      const value = data[cell.dataset.figure!];
      cell.textContent = cell.dataset.figure === 'median_approval_ms'
        ? value === null || value === undefined ? '—' : `${(value / 1000).toFixed(1)} s`
        : String(value ?? 0);
    }
  } catch {
    // offline for a moment: keep the last figures
  }
}

if (figures) setInterval(() => void refresh(), 10_000);
