// Plain left-aligned tables that fit the terminal: flexible columns give up width until the row fits.
export interface Column {
  header: string;
  /** Right-align (numbers). */
  right?: boolean;
  /** The column may be clipped to fit. */
  flexible?: boolean;
  /** A flexible column is never clipped below this (default: its header's width). */
  min?: number;
}

/** Width of the default views: 80 columns, or less when the terminal is narrower. */
export function viewWidth(stream: NodeJS.WriteStream = process.stdout): number {
  const cols = stream.isTTY ? stream.columns : undefined;
  return cols && cols > 20 ? Math.min(cols, 80) : 80;
}

const ESCAPES = /\x1b\[[0-9;]*m/g;

/** Columns a string takes on the terminal (colour escapes take none). */
export const visibleWidth = (s: string) => s.replace(ESCAPES, '').length;

/** Shorten plain text to `width` columns with an ellipsis (colour escapes are dropped). */
function clipCell(text: string, width: number): string {
  const plain = text.replace(ESCAPES, '');
  if (plain.length <= width) return text;
  return width <= 1 ? plain.slice(0, width) : `${plain.slice(0, width - 1)}…`;
}

export function renderTable(columns: Column[], rows: string[][], maxWidth = 80): string {
  const widths = columns.map((c, i) => Math.max(c.header.length, ...rows.map((r) => visibleWidth(r[i] ?? ''))));
  const floor = columns.map((c) => Math.max(c.header.length, c.min ?? 0));
  const total = () => widths.reduce((a, b) => a + b, 0) + 2 * (columns.length - 1);
  // Take one column at a time from the flexible column with the most room above its minimum, so long
  // commands and long names share the cut.
  for (let excess = total() - maxWidth; excess > 0; excess--) {
    let roomiest = -1;
    const room = (i: number) => widths[i]! - floor[i]!;
    columns.forEach((c, i) => {
      if (c.flexible && room(i) > 0 && (roomiest < 0 || room(i) > room(roomiest))) roomiest = i;
    });
    if (roomiest < 0) break;
    widths[roomiest]!--;
  }
  const cell = (text: string, i: number) => {
    const w = widths[i]!;
    const t = clipCell(text, w);
    const pad = ' '.repeat(Math.max(0, w - visibleWidth(t)));
    return columns[i]!.right ? pad + t : i === columns.length - 1 ? t : t + pad;
  };
  const line = (cells: string[]) => columns.map((_, i) => cell(cells[i] ?? '', i)).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n');
}

/**
 * A footer of " · "-separated parts, as many as fit in `width` (the first always: it holds the counts).
 */
export function renderFooter(parts: string[], width = 80): string {
  let out = parts[0] ?? '';
  for (const part of parts.slice(1)) {
    if (visibleWidth(out) + 3 + visibleWidth(part) > width) break;
    out += ` · ${part}`;
  }
  return out;
}

/**
 * A footer of `sep`-separated facts, none of which may be dropped (a total size, "2 missing"): a part that
 * does not fit in `width` starts a new line instead, the line it ends carrying `carry` (a comma of a list).
 */
export function wrapFooter(parts: string[], width = 80, sep = ' · ', carry = ''): string {
  const lines: string[] = [];
  let out = '';
  for (const part of parts) {
    if (out && visibleWidth(out) + visibleWidth(sep) + visibleWidth(part) > width) {
      lines.push(out + carry);
      out = part;
    } else out = out ? `${out}${sep}${part}` : part;
  }
  return [...lines, out].join('\n');
}
