/**
 * The instructor's replay of a learner's recorded terminal (src/pages/teach/replay.astro):
 * /teach/replay/?class=<id>&learner=<handle>[&lesson=<slug>]. Lists the learner's recorded lessons,
 * plays one with asciinema-player, and jumps to an exercise's marker (where it passed).
 *
 * Test hooks: main.replay[data-state] loading | ready | empty | error,
 * button[data-marker] per marker, .replay-player (the player).
 */
import * as AsciinemaPlayer from 'asciinema-player';
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { isLang, t } from '../i18n/strings.ts';

interface Listed {
  lesson: string;
  bytes: number;
  duration: number;
  markers: { time: number; label: string }[];
}

const root = document.querySelector<HTMLElement>('main.replay');
if (root) void start(root);

async function start(root: HTMLElement): Promise<void> {
  const lang = document.documentElement.lang;
  const s = t(isLang(lang) ? lang : 'ko').teach.replay;
  const params = new URLSearchParams(location.search);
  const learner = params.get('learner') ?? '';
  const classId = params.get('class') ?? '';
  const status = root.querySelector<HTMLElement>('.replay-status')!;
  const lessons = root.querySelector<HTMLElement>('.replay-lessons')!;
  const markers = root.querySelector<HTMLElement>('.replay-markers')!;
  const holder = root.querySelector<HTMLElement>('.replay-player')!;
  root.querySelector<HTMLElement>('.replay-learner')!.textContent = learner.slice(0, 8);
  const base = `/api/teach/classes/${encodeURIComponent(classId)}/recordings/${encodeURIComponent(learner)}`;
  const res = await fetch(base).catch(() => undefined);
  if (!res?.ok) {
    root.dataset.state = 'error';
    status.textContent = res?.status === 401 ? s.login : s.none;
    return;
  }
  const { recordings } = (await res.json()) as { recordings: Listed[] };
  if (recordings.length === 0) {
    root.dataset.state = 'empty';
    status.textContent = s.empty;
    return;
  }
  let player: AsciinemaPlayer.Player | undefined;
  const play = (rec: Listed) => {
    player?.dispose();
    for (const a of lessons.querySelectorAll('a')) a.toggleAttribute('aria-current', a.dataset.lesson === rec.lesson);
    player = AsciinemaPlayer.create(`${base}/${encodeURIComponent(rec.lesson)}`, holder, { fit: 'width', idleTimeLimit: 3, terminalFontSize: '14px' });
    markers.replaceChildren(
      ...rec.markers.map((m, i) => {
        const btn = document.createElement('button');
        btn.type = 'button';
        btn.dataset.marker = m.label;
        // Labels are exercise ids (or the cap notice): text, never markup.
        btn.textContent = `${m.label} (${formatTime(m.time)})`;
        btn.addEventListener('click', () => void player?.seek({ marker: i }));
        return btn;
      }),
    );
    status.textContent = rec.markers.length ? s.jump : s.noPass;
    root.dataset.state = 'ready';
    root.dataset.lesson = rec.lesson;
  };
  lessons.replaceChildren(
    ...recordings.map((rec) => {
      const a = document.createElement('a');
      a.href = `?class=${encodeURIComponent(classId)}&learner=${encodeURIComponent(learner)}&lesson=${encodeURIComponent(rec.lesson)}`;
      a.dataset.lesson = rec.lesson;
      a.textContent = rec.lesson;
      a.addEventListener('click', (ev) => {
        ev.preventDefault();
        history.replaceState(null, '', a.href);
        play(rec);
      });
      return a;
    }),
  );
  play(recordings.find((r) => r.lesson === params.get('lesson')) ?? recordings[0]!);
}

function formatTime(seconds: number): string {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
