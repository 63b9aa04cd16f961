/**
 * UI text in both languages. Lesson prose lives in MDX; everything the site
 * itself says (toolbar, buttons, status) lives here.
 *
 * Plain data and small functions only, so both Astro pages and browser
 * scripts (and `node --test`) can import it.
 */
export const LANGS = ['ko', 'en'] as const;
export type Lang = (typeof LANGS)[number];
export const DEFAULT_LANG: Lang = 'ko';

export function isLang(value: unknown): value is Lang {
  return value === 'ko' || value === 'en';
}

const ko = {
  siteName: 'Berth',
  siteTagline: '직접 해 보며 배우는 Docker',
  homeIntro:
    '레슨마다 오른쪽에 진짜 터미널이 있어요. 나만의 샌드박스에서 Docker 엔진을 직접 다루면서 배워요.',
  lessonsHeading: '레슨',
  lessonNumber: (n: number) => `레슨 ${n}`,
  minutes: (n: number) => `약 ${n}분`,
  goalsHeading: '이번 레슨에서 할 일',
  tryIt: '직접 해 보기',
  recap: '정리',
  skipToContent: '본문으로 건너뛰기',
  languageSwitch: 'English',
  languageSwitchLabel: 'Read this page in English',
  homeLink: '레슨 목록',
  nav: '사이트 메뉴',
  prevLesson: '이전 레슨',
  nextLesson: '다음 레슨',
  comingNext: '다음 레슨은 준비 중이에요.',
  // code blocks
  run: '실행',
  copy: '복사',
  copied: '복사했어요',
  copyFailed: '복사하지 못했어요',
  runLabel: (cmd: string) => `실행: ${cmd}`,
  copyLabel: (cmd: string) => `복사: ${cmd}`,
  copyCodeLabel: '코드 복사',
  runSent: '터미널로 보냈어요',
  runQueued: '터미널이 준비되면 실행할게요',
  runNoTerminal: '이 페이지에는 터미널이 없어요',
  expectFail: '이 명령은 실패하는 게 정상이에요',
  // panel
  splitterLabel: '본문과 터미널 크기 조절',
  terminalRegion: '샌드박스 터미널',
  terminalLabel: '터미널',
  sandbox: '샌드박스',
  resetSandbox: '샌드박스 초기화',
  resetTitle: '샌드박스를 초기화할까요?',
  resetBody:
    '지금 샌드박스를 지우고 새로 만들어요. 만든 컨테이너, 이미지, 볼륨, 파일이 모두 사라지고 되돌릴 수 없어요.',
  resetConfirm: '초기화',
  cancel: '취소',
  retry: '다시 시도',
  startAgain: '다시 시작',
  minutesLeft: (m: number) => (m < 1 ? '1분 미만 남음' : `${m}분 남음`),
  idleHint: '아무 입력이 없으면 이 시간 뒤에 샌드박스가 멈춰요. 작업 내용은 남아 있어요.',
  showTerminal: '터미널 보기',
  hideTerminal: '터미널 접기',
  state: {
    connecting: '연결하는 중',
    creating: '샌드박스 만드는 중',
    starting: 'Docker 엔진 시작하는 중',
    ready: '준비됨',
    stopping: '멈추는 중',
    stopped: '멈춤',
    failed: '시작 실패',
    disconnected: '연결 끊김',
  },
  steps: {
    creating: '샌드박스 만들기',
    starting: 'Docker 엔진 시작',
    ready: '터미널 연결',
  },
  overlay: {
    connecting: '샌드박스 서버에 연결하고 있어요…',
    creating: '나만의 샌드박스를 만들고 있어요. 처음엔 몇 초 걸려요.',
    starting: '샌드박스 안에서 Docker 엔진이 켜지고 있어요.',
    stopping: '샌드박스를 멈추고 있어요…',
    stopped: '한동안 입력이 없어서 샌드박스를 멈췄어요. 만든 것은 그대로 남아 있어요.',
    failed: '샌드박스를 시작하지 못했어요.',
    disconnected: '샌드박스 서버에 연결할 수 없어요.',
    reconnecting: (_attempt: number, seconds: number) => `${seconds}초 뒤에 다시 연결해 볼게요.`,
    noServer: '서버가 응답하지 않아요. 서버가 실행 중인지 확인하고 다시 시도해 주세요.',
    sessionHttp: (status: number) => `세션을 만들지 못했어요 (HTTP ${status}).`,
    socketFailed: '터미널 연결을 열지 못했어요.',
    rateLimited: '요청이 너무 많아서 잠시 끊겼어요.',
    serverShutdown: '서버가 다시 시작되고 있어요.',
    badMessage: '서버와 주고받는 메시지에 문제가 생겼어요. 페이지를 새로 고쳐 주세요.',
    reason: '이유',
  },
  statusCode: {
    waiting: '다른 샌드박스가 먼저 시작하고 있어요. 차례가 오면 바로 시작할게요.',
    creating: '샌드박스 컨테이너를 만드는 중이에요.',
    removing: '이전 샌드박스를 지우는 중이에요.',
    'starting-engine': 'Docker 엔진이 준비되기를 기다리는 중이에요.',
    'idle-stopped': '한동안 입력이 없어서 멈췄어요. 파일, 이미지, 컨테이너는 그대로 있어요.',
    stopped: '샌드박스가 멈췄어요. 다시 시작하면 이어서 쓸 수 있어요.',
    'shell-loop': '셸이 시작하자마자 계속 종료돼요. 샌드박스를 초기화해 주세요.',
    'start-failed': '샌드박스를 시작하지 못했어요.',
  },
  clipboardDenied: '클립보드를 읽을 수 없어요. 브라우저에서 붙여넣기 권한을 허용해 주세요.',
  keysHint: {
    mac: '복사 ⌘C · 붙여넣기 ⌘V · 중단 Ctrl+C',
    other: '복사 Ctrl+Shift+C · 붙여넣기 Ctrl+Shift+V · 중단 Ctrl+C',
  },
};

export type Strings = typeof ko;

const en: Strings = {
  siteName: 'Berth',
  siteTagline: 'Learn Docker by doing it',
  homeIntro:
    'Every lesson comes with a real terminal on the right: your own sandbox with its own Docker engine.',
  lessonsHeading: 'Lessons',
  lessonNumber: (n: number) => `Lesson ${n}`,
  minutes: (n: number) => `about ${n} min`,
  goalsHeading: 'In this lesson you will',
  tryIt: 'Try it',
  recap: 'Recap',
  skipToContent: 'Skip to content',
  languageSwitch: '한국어',
  languageSwitchLabel: '이 페이지를 한국어로 보기',
  homeLink: 'All lessons',
  nav: 'Site',
  prevLesson: 'Previous lesson',
  nextLesson: 'Next lesson',
  comingNext: 'The next lesson is coming soon.',
  run: 'Run',
  copy: 'Copy',
  copied: 'Copied',
  copyFailed: 'Could not copy',
  runLabel: (cmd: string) => `Run: ${cmd}`,
  copyLabel: (cmd: string) => `Copy: ${cmd}`,
  copyCodeLabel: 'Copy code',
  runSent: 'Sent to the terminal',
  runQueued: 'Will run when the terminal is ready',
  runNoTerminal: 'There is no terminal on this page',
  expectFail: 'This command is expected to fail',
  splitterLabel: 'Resize text and terminal',
  terminalRegion: 'Sandbox terminal',
  terminalLabel: 'Terminal',
  sandbox: 'Sandbox',
  resetSandbox: 'Reset sandbox',
  resetTitle: 'Reset the sandbox?',
  resetBody:
    'This throws your sandbox away and starts a fresh one. Your containers, images, volumes and files will be gone for good.',
  resetConfirm: 'Reset',
  cancel: 'Cancel',
  retry: 'Retry',
  startAgain: 'Start again',
  minutesLeft: (m: number) => (m < 1 ? 'under 1 min left' : `${m} min left`),
  idleHint: 'With no input, the sandbox stops after this time. Your work is kept.',
  showTerminal: 'Show terminal',
  hideTerminal: 'Hide terminal',
  state: {
    connecting: 'Connecting',
    creating: 'Creating sandbox',
    starting: 'Starting Docker engine',
    ready: 'Ready',
    stopping: 'Stopping',
    stopped: 'Stopped',
    failed: 'Failed to start',
    disconnected: 'Disconnected',
  },
  steps: {
    creating: 'Create the sandbox',
    starting: 'Start the Docker engine',
    ready: 'Attach the terminal',
  },
  overlay: {
    connecting: 'Connecting to the sandbox server…',
    creating: 'Creating your own sandbox. The first time takes a few seconds.',
    starting: 'The Docker engine inside your sandbox is starting.',
    stopping: 'Stopping the sandbox…',
    stopped: 'Your sandbox was stopped after a while without input. Everything you made is still there.',
    failed: 'The sandbox could not be started.',
    disconnected: 'Cannot reach the sandbox server.',
    reconnecting: (_attempt: number, seconds: number) => `Trying again in ${seconds} s.`,
    noServer: 'The server is not answering. Check that it is running, then retry.',
    sessionHttp: (status: number) => `Could not open a session (HTTP ${status}).`,
    socketFailed: 'Could not open the terminal connection.',
    rateLimited: 'Too many requests; the connection was closed for a moment.',
    serverShutdown: 'The server is restarting.',
    badMessage: 'The server and this page disagree about a message. Reload the page.',
    reason: 'Reason',
  },
  statusCode: {
    waiting: 'Other sandboxes are starting first. Yours starts as soon as it is its turn.',
    creating: 'Creating the sandbox container.',
    removing: 'Removing the old sandbox.',
    'starting-engine': 'Waiting for the Docker engine to be ready.',
    'idle-stopped': 'Stopped after a while without input. Your files, images and containers are kept.',
    stopped: 'Your sandbox stopped. Start it again to carry on where you left off.',
    'shell-loop': 'The shell keeps exiting right after it starts. Reset the sandbox.',
    'start-failed': 'The sandbox could not be started.',
  },
  clipboardDenied: 'Cannot read the clipboard. Allow clipboard access in your browser.',
  keysHint: {
    mac: 'Copy ⌘C · Paste ⌘V · Interrupt Ctrl+C',
    other: 'Copy Ctrl+Shift+C · Paste Ctrl+Shift+V · Interrupt Ctrl+C',
  },
};

const STRINGS: Record<Lang, Strings> = { ko, en };

export function t(lang: Lang): Strings {
  return STRINGS[lang];
}
