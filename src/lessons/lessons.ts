/** Lessons from the content collection, per language, in course order. */
import { getCollection, type CollectionEntry } from 'astro:content';
import type { Lang } from '../i18n/strings.ts';

export type LessonEntry = CollectionEntry<'lessons'>;

export interface Lesson {
  /** Folder name, e.g. `00-welcome`; the URL slug in every language. */
  slug: string;
  lang: Lang;
  entry: LessonEntry;
}

function split(id: string): { slug: string; lang: string } {
  const [slug = '', lang = ''] = id.split('/');
  return { slug, lang };
}

export async function getLessons(lang: Lang): Promise<Lesson[]> {
  const all = await getCollection('lessons');
  return all
    .map((entry) => ({ entry, ...split(entry.id) }))
    .filter((l) => l.lang === lang)
    .map(({ entry, slug }) => ({ slug, lang, entry }))
    .sort((a, b) => a.entry.data.order - b.entry.data.order);
}
