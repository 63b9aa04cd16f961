/**
 * Lesson code blocks: a Shiki transformer that keeps the fence's meta string,
 * and satteri hast plugins (Astro 7's Markdown pipeline; remark/rehype are no
 * longer the default) that wrap every `<pre>` in a `<berth-code>` element with
 * Copy and, for ```sh run blocks, Run buttons.
 *
 * Astro runs its Shiki highlighter before user hast plugins and Shiki replaces
 * the `<pre>`, so the meta would be lost; the transformer copies it onto the
 * new `<pre>` as `data-berth-meta`. Unhighlighted blocks keep it on `code.data`.
 *
 * Output (the client element lives in src/components/CodeBlock.astro's script):
 *
 *   <berth-code data-run data-expect-fail data-lang="sh" data-command="…">
 *     <div class="code-bar">
 *       <span class="code-lang">sh</span>
 *       <span class="code-note">This command is expected to fail</span>   (expect-fail only)
 *       <button data-action="copy" aria-label="Copy: docker version">Copy</button>
 *       <button data-action="run" aria-label="Run: docker version">Run</button>  (run only)
 *       <span class="code-status" role="status"></span>
 *     </div>
 *     <pre class="astro-code">…</pre>
 *   </berth-code>
 */
import type { Element, ElementContent } from 'hast';
import type { HastPluginDefinition, HastPluginEntry } from 'satteri';
import { languageOfFile, parseCodeMeta, summarizeCommand } from './code-meta.ts';
import { t } from '../i18n/strings.ts';

const META_PROP = 'dataBerthMeta';

interface ShikiTransformerThis {
  options: { meta?: { __raw?: string } };
}

/** Shiki transformer (markdown.shikiConfig.transformers) that keeps the meta string. */
export const keepCodeMeta = {
  name: 'berth:keep-code-meta',
  pre(this: ShikiTransformerThis, node: Element) {
    const raw = this.options.meta?.__raw;
    if (raw) node.properties[META_PROP] = raw;
  },
};

function metaOf(pre: Readonly<Element>): string | undefined {
  const props = pre.properties ?? {};
  const own = props[META_PROP] ?? props['data-berth-meta'];
  if (typeof own === 'string') return own;
  const code = pre.children.find(
    (c): c is Element => c.type === 'element' && c.tagName === 'code',
  );
  const meta = (code?.data as { meta?: unknown } | undefined)?.meta;
  return typeof meta === 'string' ? meta : undefined;
}

function langOf(pre: Readonly<Element>): string {
  const own = pre.properties?.['dataLanguage'];
  if (typeof own === 'string') return own;
  const code = pre.children.find(
    (c): c is Element => c.type === 'element' && c.tagName === 'code',
  );
  const dataLang = (code?.data as { lang?: unknown } | undefined)?.lang;
  if (typeof dataLang === 'string') return dataLang;
  const cls = code?.properties?.['className'];
  const found = Array.isArray(cls)
    ? cls.find((c) => typeof c === 'string' && c.startsWith('language-'))
    : undefined;
  return typeof found === 'string' ? found.slice('language-'.length) : '';
}

const text = (value: string): ElementContent => ({ type: 'text', value });

function button(action: 'copy' | 'run', label: string, ariaLabel: string): Element {
  return {
    type: 'element',
    tagName: 'button',
    properties: {
      type: 'button',
      className: ['code-btn', `code-btn-${action}`],
      dataAction: action,
      ariaLabel,
    },
    children: [text(label)],
  };
}

/** Pass 1: wrap each `<pre>` (not already wrapped) in `<berth-code>`. */
const wrapPre: HastPluginDefinition = {
  name: 'berth:wrap-code',
  element: {
    filter: ['pre'],
    visit(node, ctx) {
      const parent = ctx.parent(node);
      if (parent && parent.type === 'element' && parent.tagName === 'berth-code') return;
      const meta = parseCodeMeta(metaOf(node));
      const code = ctx.textContent(node).replace(/\n+$/, '');
      const lang = langOf(node);
      const properties: Element['properties'] = {
        className: ['code-block'],
        dataCommand: code,
      };
      if (lang) properties['dataLang'] = lang;
      if (meta.run) properties['dataRun'] = '';
      if (meta.expectFail) properties['dataExpectFail'] = '';
      ctx.wrapNode(node, { type: 'element', tagName: 'berth-code', properties, children: [] });
    },
  },
};

/** Pass 2: put the button bar in front of the `<pre>`, labelled in the page's language. */
const addButtons: HastPluginDefinition = {
  name: 'berth:code-buttons',
  element: {
    filter: ['berth-code'],
    visit(node, ctx) {
      const s = t(languageOfFile(ctx.fileURL?.pathname));
      const props = node.properties ?? {};
      const command = typeof props['dataCommand'] === 'string' ? props['dataCommand'] : ctx.textContent(node);
      const summary = summarizeCommand(command);
      const run = props['dataRun'] !== undefined && props['dataRun'] !== null && props['dataRun'] !== false;
      const expectFail =
        props['dataExpectFail'] !== undefined && props['dataExpectFail'] !== null && props['dataExpectFail'] !== false;
      const lang = typeof props['dataLang'] === 'string' ? props['dataLang'] : '';
      const bar: ElementContent[] = [];
      bar.push({
        type: 'element',
        tagName: 'span',
        properties: { className: ['code-lang'], ariaHidden: 'true' },
        children: [text(run ? `${lang || 'sh'} · ${s.terminalLabel}` : lang)],
      });
      if (expectFail) {
        bar.push({
          type: 'element',
          tagName: 'span',
          properties: { className: ['code-note'] },
          children: [text(s.expectFail)],
        });
      }
      bar.push({ type: 'element', tagName: 'span', properties: { className: ['code-spacer'] }, children: [] });
      bar.push({
        type: 'element',
        tagName: 'span',
        properties: { className: ['code-status'], role: 'status' },
        children: [],
      });
      bar.push(button('copy', s.copy, summary ? s.copyLabel(summary) : s.copyCodeLabel));
      if (run) bar.push(button('run', s.run, s.runLabel(summary)));
      ctx.prependChild(node, {
        type: 'element',
        tagName: 'div',
        properties: { className: ['code-bar'] },
        children: bar,
      });
    },
  },
};

/** Hast plugins for `markdown.processor: satteri({ hastPlugins })`. */
export const codeBlockPlugins: HastPluginEntry[] = [wrapPre, addButtons];
