import { DEFAULT_LANG, type Lang } from './strings.ts';

/** URL prefix of a language: '' for the default (Korean), '/en' for English. */
export function langPrefix(lang: Lang): string {
  return lang === DEFAULT_LANG ? '' : `/${lang}`;
}

export function homeUrl(lang: Lang): string {
  return `${langPrefix(lang)}/`;
}

export function lessonUrl(lang: Lang, slug: string): string {
  return `${langPrefix(lang)}/lessons/${slug}/`;
}

export function otherLang(lang: Lang): Lang {
  return lang === 'ko' ? 'en' : 'ko';
}

/** Classroom pages (src/pages/teach/, src/pages/join/). */
export function teachUrl(lang: Lang, page: '' | 'login' | 'setup' | 'class' | 'watch' | 'replay' = ''): string {
  return `${langPrefix(lang)}/teach/${page ? `${page}/` : ''}`;
}

export function joinUrl(lang: Lang, code = ''): string {
  return `${langPrefix(lang)}/join/${code ? `${code}/` : ''}`;
}
