/**
 * The instructor sees the evidence behind a graded pass: what the checks observed,
 * for a member of their own class only. Real server, real sandbox.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestBerth, testConfig, type TestBerth } from '../helpers/berth.ts';
import { TestTerminal } from '../helpers/terminal-client.ts';
import { writeLessons } from '../helpers/lessons.ts';
import { newInstructor, post, type InstructorClient } from '../helpers/classroom.ts';
import { handleOf } from '../../sandbox-server/src/identity.ts';
import type { ServerMessage } from '../../sandbox-server/src/protocol.ts';

const GRADED = `
graded: true
exercises:
  - id: net
    title: { ko: 네트워크, en: A network }
    checks:
      - type: network_exists
        name: graded-net
    solution: docker network create graded-net
    near_miss: docker network create graded_net
`;

type ExercisesMsg = Extract<ServerMessage, { t: 'exercises' }>;
interface Evidence {
  lesson: string;
  exercise: string;
  recordedAt: number;
  late: boolean;
  checks: { type: string; observed: string }[];
}

describe("an instructor reads a learner's grading evidence", () => {
  const content = writeLessons({ '91-graded': GRADED });
  let berth: TestBerth;
  let kim: InstructorClient;
  let lee: InstructorClient;
  let classId: string;
  let learner: string;

  before(async () => {
    berth = await startTestBerth(testConfig({ BERTH_CONTENT_DIR: content }));
    kim = await newInstructor(berth, 'kim');
    lee = await newInstructor(berth, 'lee');
    const made = (await (await kim.post('/api/teach/classes', { name: 'A', lessons: ['91-graded'] })).json()) as { id: string; code: string };
    classId = made.id;
    const joined = await post(berth, `/api/join/${made.code}`, { name: 'Ada' });
    const cookie = joined.headers.get('set-cookie')!.split(';')[0]!;
    learner = handleOf(cookie.split('=')[1]!);
    const term = new TestTerminal(berth.origin, { cookie, hello: { cols: 100, rows: 30, lesson: '91-graded', lang: 'en' } });
    try {
      await term.waitForState('ready', 120_000);
      await term.run('docker network create graded-net >/dev/null');
      await term.until(() => term.messages.findLast((m): m is ExercisesMsg => m.t === 'exercises')?.items[0]?.status === 'passed', 30_000, 'the pass');
    } finally {
      term.close();
    }
  });
  after(async () => {
    await berth?.destroy();
  });

  test('the class\'s instructor gets what the check observed; nobody else does', async () => {
    const res = await kim.get(`/api/teach/classes/${classId}/evidence/${learner}`);
    assert.equal(res.status, 200);
    const { evidence } = (await res.json()) as { evidence: Evidence[] };
    assert.equal(evidence.length, 1);
    assert.equal(evidence[0]!.exercise, 'net');
    assert.equal(evidence[0]!.late, false);
    assert.equal(evidence[0]!.checks[0]!.type, 'network_exists');
    assert.match(evidence[0]!.checks[0]!.observed, /^network graded-net: driver bridge/);
    assert.equal((await lee.get(`/api/teach/classes/${classId}/evidence/${learner}`)).status, 404, "another instructor's request");
    assert.equal((await kim.get(`/api/teach/classes/${classId}/evidence/${'0'.repeat(32)}`)).status, 404, 'not a member');
    assert.equal((await fetch(`${berth.origin}/api/teach/classes/${classId}/evidence/${learner}`)).status, 401, 'no session');
  });
});
