import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeHtml, html, raw, SafeHtml } from '../../../lambdas/core/report/html.ts';

describe('escapeHtml', () => {
  it('escapes the five characters that can end text or an attribute value', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;',
    );
  });

  it('leaves no raw markup character in any string', () => {
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(escapeHtml(text)).not.toMatch(/[<>"']/);
      }),
      { seed: 42 },
    );
  });
});

describe('html', () => {
  it('escapes interpolated strings and numbers but keeps the template', () => {
    // Act
    const markup = html`<td title="${'"x"'}">${'<b>'}${42}</td>`;
    // Assess
    expect(markup).toBeInstanceOf(SafeHtml);
    expect(markup.value).toBe('<td title="&quot;x&quot;">&lt;b&gt;42</td>');
  });

  it('inserts nested markup as it is and joins arrays', () => {
    const items = ['a<', 'b'].map((item) => html`<li>${item}</li>`);
    expect(html`<ul>${items}</ul>`.value).toBe('<ul><li>a&lt;</li><li>b</li></ul>');
  });

  it('renders nothing for null, undefined and false, but does render 0', () => {
    expect(html`[${null}${undefined}${false}${0}]`.value).toBe('[0]');
  });

  it('trusts raw markup only when asked', () => {
    expect(html`${raw('<br>')}${'<br>'}`.value).toBe('<br>&lt;br&gt;');
  });
});
