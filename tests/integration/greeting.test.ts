/**
 * The terminal's greeting speaks the page's language (issue 18): the page's hello
 * carries `lang`, the server passes it to the shell's exec as BERTH_LANG, and the
 * sandbox's login profile prints that one motd, in the UI's voice (해요체 in Korean).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newLearner, startTestBerth, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';

/** The OSC the sandbox shell prints before each prompt (images/sandbox/bashrc). */
const PROMPT = /\x1b\]6973;berth-prompt\x07/;

describe('terminal greeting in the page language', () => {
  let berth: TestBerth;
  before(async () => {
    berth = await startTestBerth();
  });
  after(() => berth?.destroy());

  for (const lang of ['en', 'ko'] as const) {
    test(`${lang}: one greeting, in ${lang}`, async () => {
      const term = new TestTerminal(berth.origin, { cookie: await newLearner(berth), hello: { cols: 120, rows: 40, lang } });
      try {
        await term.waitForState('ready', 90_000);
        await term.waitForOutput(PROMPT, 30_000);
        const greeting = term.output;
        if (lang === 'en') {
          assert.match(greeting, /Welcome to Berth/);
          assert.doesNotMatch(greeting, /[가-힣]/, 'no Korean on an English page');
        } else {
          assert.match(greeting, /Berth에 온 걸 환영해요/);
          assert.doesNotMatch(greeting, /Welcome|Try:/, 'no English on a Korean page');
          assert.doesNotMatch(greeting, /니다/, 'the UI says 해요, so does the greeting');
        }
        assert.match(greeting, /docker run hello-world/);
      } finally {
        term.close();
      }
    });
  }

  test('a shell started without a language (an older server, by hand) greets in both', async () => {
    const sandbox = (await berth.runtime.listSandboxes())[0]!.id;
    const r = await berth.runtime.exec(sandbox, ['bash', '-lic', 'true'], 30_000);
    assert.match(r.stdout, /Welcome to Berth/);
    assert.match(r.stdout, /환영해요/);
    const bad = await berth.runtime.exec(sandbox, ['env', 'BERTH_LANG=../../etc/passwd', 'bash', '-lic', 'true'], 30_000);
    assert.match(bad.stdout, /Welcome to Berth[\s\S]*환영해요/, 'an unknown value is not used as a file name');
    assert.doesNotMatch(bad.stdout, /root:/);
  });
});
