/**
 * The instructor's view of one learner's terminal (src/pages/teach/watch.astro):
 * read-only by default; "Type to help" asks the server to pass this view's
 * keystrokes to the shell, which the learner sees and can end.
 *
 * Test hooks: main.watch[data-state] connecting | watching | closed,
 * main.watch[data-helping] true | false, .watch-status (why it closed).
 */
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { WATCH_PATH, parseWatchServerMessage, type WatchClientMessage } from '../../sandbox-server/src/protocol.ts';
import { isLang, t } from '../i18n/strings.ts';

const root = document.querySelector<HTMLElement>('main.watch');
if (root) start(root);

function start(root: HTMLElement): void {
  const lang = document.documentElement.lang;
  const s = t(isLang(lang) ? lang : 'ko').teach.watch;
  const params = new URLSearchParams(location.search);
  const learner = params.get('learner') ?? '';
  const classId = params.get('class');
  const replay = root.querySelector<HTMLAnchorElement>('.watch-replay')!;
  if (classId) {
    replay.href = `${root.dataset.replay}?class=${encodeURIComponent(classId)}&learner=${encodeURIComponent(learner)}`;
    replay.hidden = false;
  }
  const status = root.querySelector<HTMLElement>('.watch-status')!;
  const helpBtn = root.querySelector<HTMLButtonElement>('.watch-help')!;
  root.querySelector<HTMLElement>('.watch-learner')!.textContent = learner.slice(0, 8);
  const term = new Terminal({
    disableStdin: true,
    cursorBlink: false,
    scrollback: 5000,
    fontSize: 14,
    theme: { background: '#0d1117', foreground: '#e6edf3', cursor: '#58a6ff' },
  });
  term.open(root.querySelector<HTMLElement>('.watch-terminal')!);

  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${proto}//${location.host}${WATCH_PATH}?learner=${encodeURIComponent(learner)}`);
  ws.binaryType = 'arraybuffer';
  let helping = false;
  const send = (msg: WatchClientMessage) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(msg));
  const setHelping = (on: boolean) => {
    helping = on;
    root.dataset.helping = String(on);
    helpBtn.setAttribute('aria-pressed', String(on));
    helpBtn.textContent = on ? s.helpStop : s.helpStart;
    term.options.disableStdin = !on;
    term.options.cursorBlink = on;
  };
  setHelping(false);

  ws.onmessage = (ev) => {
    if (ev.data instanceof ArrayBuffer) return void term.write(new Uint8Array(ev.data));
    const parsed = parseWatchServerMessage(String(ev.data));
    if (!parsed.ok) return;
    const msg = parsed.value;
    if (msg.t === 'watching') {
      term.reset();
      term.resize(msg.cols, msg.rows);
      root.dataset.state = 'watching';
      status.textContent = s.live;
    } else if (msg.t === 'resize') {
      term.resize(msg.cols, msg.rows);
    } else {
      setHelping(msg.on);
      if (!msg.on && msg.endedByLearner) {
        status.textContent = s.endedByLearner;
        helpBtn.disabled = true;
      }
    }
  };
  ws.onclose = (ev) => {
    root.dataset.state = 'closed';
    setHelping(false);
    helpBtn.disabled = true;
    status.textContent = ev.code === 1006 ? s.refused : s.closed(ev.reason || String(ev.code));
  };
  helpBtn.addEventListener('click', () => send({ t: 'help', on: !helping }));
  const encoder = new TextEncoder();
  term.onData((data) => {
    if (helping && ws.readyState === WebSocket.OPEN) ws.send(encoder.encode(data));
  });
}
