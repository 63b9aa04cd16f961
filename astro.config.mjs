// @ts-check
import { defineConfig } from 'astro/config';
import mdx from '@astrojs/mdx';
import { satteri } from '@astrojs/markdown-satteri';
import { codeBlockPlugins, keepCodeMeta } from './src/lessons/code-blocks.ts';

/** Where `npm run dev` finds the sandbox server (its API and terminal socket). */
const devApi = process.env.BERTH_DEV_API ?? 'http://127.0.0.1:4322';

export default defineConfig({
  output: 'static',
  trailingSlash: 'ignore',
  build: { format: 'directory' },
  i18n: {
    locales: ['ko', 'en'],
    defaultLocale: 'ko',
    routing: { prefixDefaultLocale: false },
  },
  integrations: [mdx()],
  markdown: {
    // Astro 7's default Markdown pipeline is satteri; its hast plugins wrap
    // lesson code blocks with Copy / Run buttons (src/lessons/code-blocks.ts).
    // No typographic dashes: lessons write command flags (`--name`) in prose and
    // headings, and an en-dash there ("–name") is a flag nobody can type.
    processor: satteri({ hastPlugins: codeBlockPlugins, features: { smartPunctuation: { dashes: false } } }),
    shikiConfig: {
      theme: 'github-dark-default',
      transformers: [keepCodeMeta],
    },
  },
  vite: {
    server: {
      proxy: {
        '/api': { target: devApi, changeOrigin: false },
        '/ws': { target: devApi, changeOrigin: false, ws: true },
      },
    },
  },
});
