/**
 * HTML built with a tagged template that escapes every interpolated value unless it is already
 * {@link SafeHtml}. Model names, reasons, column names and run decisions are user data: escaping by
 * default means a forgotten call cannot open an injection, and only markup this module built is trusted.
 */

/** Markup that is already safe to insert (built by {@link html} or {@link raw}). */
export class SafeHtml {
  readonly value: string;

  constructor(value: string) {
    this.value = value;
  }

  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/**
 * Text escaped for HTML content and quoted attribute values (`& < > " '`).
 * @example escapeHtml('<b>"x"</b>') // '&lt;b&gt;&quot;x&quot;&lt;/b&gt;'
 */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ENTITIES[character]);
}

/**
 * Marks a string as trusted markup. Only for constants of this module (CSS, fixed fragments), never for
 * data.
 */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}

/** One interpolated value as markup: arrays are joined, null/undefined/false render nothing. */
function render(value: unknown): string {
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === null || value === undefined || value === false) return '';
  return escapeHtml(String(value));
}

/**
 * Tagged template for markup: interpolated values are escaped unless they are {@link SafeHtml}.
 * @example html`<td>${'<script>'}</td>`.value // '<td>&lt;script&gt;</td>'
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}
