import { test } from 'node:test';
import assert from 'node:assert/strict';
import { requestPath } from './request-path.ts';

test('targets that made new URL(target, base) throw are refused, never thrown', () => {
  // Each of these threw ERR_INVALID_URL inside the request listener and ended the process.
  for (const target of ['//', '//%', '/\\', '//%zz']) assert.equal(requestPath(target), undefined, target);
});

test('empty segments, backslashes, broken escapes and control characters are malformed', () => {
  for (const target of ['///x', '//evil.example/api/session', '/\\evil.example', '/a//b', '/a%', '/a%zz/b', '/a\x00b', '/a\tb', 'http://host//x']) {
    assert.equal(requestPath(target), undefined, JSON.stringify(target));
  }
});

test('ordinary targets give their pathname, percent escapes kept, without the query', () => {
  assert.equal(requestPath('/'), '/');
  assert.equal(requestPath('/api/progress?x=1#y'), '/api/progress');
  assert.equal(requestPath('/lessons/01-intro/'), '/lessons/01-intro/');
  assert.equal(requestPath('/ko/%EC%9D%B4%EB%AF%B8%EC%A7%80/'), '/ko/%EC%9D%B4%EB%AF%B8%EC%A7%80/');
  assert.equal(requestPath('/search?q=a//b%'), '/search', 'the query is not the path');
});

test('absolute form gives its path; authority form, asterisk form and garbage are refused', () => {
  assert.equal(requestPath('http://localhost:4321/healthz?x'), '/healthz');
  assert.equal(requestPath('HTTPS://berth.example/api/session'), '/api/session');
  for (const target of [undefined, '', '*', 'example.com:443', 'x', 'http://', 'http://[::1/', 'file:///etc/passwd']) assert.equal(requestPath(target), undefined, String(target));
});
