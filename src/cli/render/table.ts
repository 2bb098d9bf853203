// Plain left-aligned tables that fit the terminal; the last column takes what is left.
export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
  /** The column may be clipped to fit. */
  flexible?: boolean;
}

const visible = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').length;

export function renderTable(columns: Column[], rows: string[][], maxWidth = 80): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => visible(r[i] ?? ''))));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  const flex = columns.findIndex((c) => c.flexible);
  if (flex >= 0 && total() > maxWidth) widths[flex] = Math.max(columns[flex]!.header.length, widths[flex]! - (total() - maxWidth));
  const cell = (text: string, i: number) => {
    const w = widths[i]!;
    let t = text;
    if (visible(t) > w) t = t.slice(0, w - 1) + '…';
    const pad = ' '.repeat(Math.max(0, w - visible(t)));
    return columns[i]!.right ? pad + t : i === columns.length - 1 ? t : t + pad;
  };
  const lines = [columns.map((c, i) => cell(c.header, i)).join('  ').trimEnd()];
  for (const r of rows) lines.push(columns.map((_, i) => cell(r[i] ?? '', i)).join('  ').trimEnd());
  return lines.join('\n');
}
