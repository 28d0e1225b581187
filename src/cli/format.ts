/** Plain-text rendering of JSON reports for the terminal: scalars as `key: value`, arrays of objects as tables. */
export function formatInspect(report: unknown, title: string): string {
  const lines = [title];
  render(report, '', lines);
  return lines.join('\n');
}

function scalar(value: unknown): string {
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : value.toFixed(3);
  if (typeof value === 'string') return value.length > 80 ? `${value.slice(0, 77)}…` : value;
  if (value === null || value === undefined) return '-';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

function render(value: unknown, indent: string, lines: string[]): void {
  if (value === null || typeof value !== 'object') {
    lines.push(indent + scalar(value));
    return;
  }
  for (const [key, child] of Object.entries(value)) {
    if (Array.isArray(child) && child.length > 0 && child.every((row) => row !== null && typeof row === 'object' && !Array.isArray(row))) {
      lines.push(`${indent}${key}:`);
      table(child as Record<string, unknown>[], `${indent}  `, lines);
    } else if (child !== null && typeof child === 'object' && !Array.isArray(child)) {
      lines.push(`${indent}${key}:`);
      render(child, `${indent}  `, lines);
    } else {
      lines.push(`${indent}${key}: ${Array.isArray(child) ? child.map(scalar).join(', ') : scalar(child)}`);
    }
  }
}

function table(rows: Record<string, unknown>[], indent: string, lines: string[]): void {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => scalar(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => (row[i] as string).length)));
  lines.push(indent + columns.map((c, i) => c.padEnd(widths[i] as number)).join('  '));
  for (const row of cells) lines.push(indent + row.map((cell, i) => cell.padEnd(widths[i] as number)).join('  '));
}
