import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseClientMessage, parseServerMessage } from './protocol.ts';

test('valid client messages parse', () => {
  assert.deepEqual(parseClientMessage('{"t":"hello","cols":120,"rows":40}'), { ok: true, value: { t: 'hello', cols: 120, rows: 40 } });
  assert.equal(parseClientMessage('{"t":"resize","cols":80,"rows":24}').ok, true);
  assert.equal(parseClientMessage('{"t":"pause"}').ok, true);
  assert.equal(parseClientMessage('{"t":"reset"}').ok, true);
});

test('malformed and unknown client messages are refused with a reason', () => {
  const cases: [string, RegExp][] = [
    ['not json', /not JSON/],
    ['{"t":"signal"}', /t/],
    ['{"t":"resize","cols":80}', /rows/],
    ['{"t":"resize","cols":1e9,"rows":24}', /cols/],
    ['{"t":"resize","cols":80.5,"rows":24}', /cols/],
    ['{"t":"pause","extra":1}', /extra|Unrecognized/i],
    ['[]', /.+/],
    ['null', /.+/],
  ];
  for (const [text, reason] of cases) {
    const r = parseClientMessage(text);
    assert.equal(r.ok, false, text);
    if (!r.ok) assert.match(r.error, reason, text);
  }
});

test('server messages round-trip', () => {
  const msg = { t: 'status', state: 'ready', idleStopAt: 1_800_000_000_000 };
  assert.deepEqual(parseServerMessage(JSON.stringify(msg)), { ok: true, value: msg });
  assert.equal(parseServerMessage('{"t":"status","state":"exploded"}').ok, false);
});
