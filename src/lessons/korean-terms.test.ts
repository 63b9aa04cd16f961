import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { koreanYamlStrings, lintKoreanExercises, lintKoreanLine, lintKoreanMdx } from './korean-terms.ts';

/** The rule names that flag `sentence`. */
const flags = (sentence: string) => lintKoreanLine(sentence, 1).map((p) => p.rule.name);

test('층 for a layer is flagged; 계층, 심층 and a floor are not', () => {
  assert.deepEqual(flags('쓰기 가능한 층에 쌓여요.'), ['layer']);
  assert.deepEqual(flags('이미지는 층층이 쌓여 있어요.'), ['layer']);
  assert.deepEqual(flags('레이어마다 바로 아래 층과 달라진 파일만 있어요.'), ['layer']);
  assert.deepEqual(flags('계층 구조, 심층 분석, 2층 건물, 쓰기 가능한 레이어'), []);
});

test('부품 and 일꾼 are flagged', () => {
  assert.deepEqual(flags('Docker를 이루는 부품'), ['component']);
  assert.deepEqual(flags('일꾼 프로세스(worker)'), ['worker']);
  assert.deepEqual(flags('Docker를 이루는 구성 요소와 워커 프로세스'), []);
});

test('돌다/돌리다/돌아가다 for "run" are flagged in their common forms', () => {
  for (const s of [
    '컨테이너 안에서 돌고 있어요.',
    '일반 사용자 권한으로 돌아요.',
    '프로그램이 돌면서 메시지를 출력해요.',
    '안에서 돌던 프로그램',
    '백그라운드에서 계속 돌게 해요.',
    '커널 위에서 도는 평범한 프로세스',
    '컨테이너 안에서 돈 uname도',
    '윈도우를 돌릴 수도 있어요.',
    '프로그램 하나를 돌리는 거예요.',
    '커널까지 따로 돌려요.',
    '그 프로그램이 돌아가는 데 필요한 파일',
    '리눅스 커널이 있어야 돌아요.',
    'cgroup v1 호스트에서 돌아서 제한이 적용되지 않아요.',
    '한번 돌려 봐요.',
  ]) {
    assert.deepEqual(flags(s), ['run'], s);
  }
});

test('give back, come back, go back somewhere, 되돌리다, 충돌 and 정도는 are not "run"', () => {
  for (const s of [
    '컨테이너 목록을 돌려줘요.',
    '돌려줄 내용은 없어요.',
    '앱이 돌려주는 응답',
    '값을 돌려받아요.',
    '출력이 클라이언트로 돌아와요.',
    'JSON 한 덩어리가 돌아왔어요.',
    '프롬프트가 돌아오지 않아요.',
    '돌아온 답을 보여 줘요.',
    '샌드박스로 돌아와요.',
    '홈 디렉터리로 돌아가거나 -f를 붙여요.',
    '처음으로 돌아가요.',
    '설정을 되돌려요. 되돌리기 쉬워요.',
    '이름이 충돌해요. 충돌하면 지워요.',
    '10초 정도는 걸려요. 속도는 빨라요.',
    '이전 레슨을 돌아보면',
  ]) {
    assert.deepEqual(flags(s), [], s);
  }
});

test('bare 저장소 is flagged; 이미지 저장소 and 로컬 이미지 저장소 are not', () => {
  assert.deepEqual(flags('이름은 `저장소:태그` 모양이고 nginx가 저장소예요.'), ['store']);
  assert.deepEqual(flags('패키지 저장소가 없어요.'), ['store']);
  assert.deepEqual(flags('엔진의 로컬 이미지 저장소, containerd 이미지 저장소, 저장 공간'), []);
});

test('other spellings of 리포지터리 are flagged; 리포지터리 and 리포트 are not', () => {
  assert.deepEqual(flags('리포지토리 이름'), ['repository-spelling']);
  assert.deepEqual(flags('레포지토리, 레포 이름'), ['repository-spelling', 'repository-spelling']);
  assert.deepEqual(flags('리포지터리 이름, 레포트'), []);
});

test('a problem names its line and shows the text around the match', () => {
  const [p] = lintKoreanLine('이 파일은 컨테이너의 쓰기 가능한 층에 들어갔어요. 이 파일이 언제까지 살아남는지 봐요.', 7);
  assert.equal(p?.line, 7);
  assert.equal(p?.text, '테이너의 쓰기 가능한 층에 들어갔어요. 이 파');
  assert.match(p?.rule.preferred ?? '', /레이어/);
  assert.ok(p?.rule.why);
});

test('MDX: code blocks and inline code are skipped, prose lines are numbered', () => {
  const mdx = ['---', "title: '부품'", '---', '', '`돌리다`는 코드예요.', '```sh', 'echo 층 저장소', '```', '컨테이너가 돌고 있어요.'].join('\n');
  assert.deepEqual(
    lintKoreanMdx(mdx).map((p) => `${p.line}:${p.rule.name}`),
    ['2:component', '9:run'],
  );
});

test('exercises.yaml: every ko string (titles, feedback, hints, flow maps) is found with its line; en and code are not', () => {
  const yaml = [
    'exercises:',
    '  - id: a',
    '    title:',
    "      ko: '`docker run`으로 돌려요'",
    '      en: Run it, 층',
    '    hints:',
    '      ko:',
    "        - '첫째: 계층'",
    '        - 둘째, 부품',
    '      en: [one, two]',
    '    success:',
    '      ko: |',
    '        첫 줄이에요.',
    '        쓰기 가능한 층이에요.',
    '      en: fine',
    'quizzes:',
    "  - choices: [{ ko: '저장소예요', en: x }]",
  ].join('\n');
  assert.deepEqual(
    koreanYamlStrings(yaml).map((s) => `${s.line}:${s.text}`),
    ['4:`docker run`으로 돌려요', '8:첫째: 계층', '9:둘째, 부품', '13:첫 줄이에요.', '14:쓰기 가능한 층이에요.', '17:저장소예요'],
  );
  assert.deepEqual(
    lintKoreanExercises(yaml).map((p) => `${p.line}:${p.rule.name}`),
    ['4:run', '9:component', '14:layer', '17:store'],
  );
  assert.deepEqual(lintKoreanExercises("title:\n  ko: '`돌려 층`'\n"), []);
});

// Every lesson folder, so lessons added later are covered too; one test per lesson, so a failure names it.
const lessonsRoot = new URL('../../content/lessons/', import.meta.url).pathname;
for (const lesson of readdirSync(lessonsRoot).sort()) {
  test(`${lesson}: Korean text follows the terminology list (src/lessons/korean-terms.ts)`, () => {
    const problems: string[] = [];
    for (const [file, lint] of [['ko.mdx', lintKoreanMdx], ['exercises.yaml', lintKoreanExercises]] as const) {
      const path = join(lessonsRoot, lesson, file);
      if (!existsSync(path)) continue;
      for (const p of lint(readFileSync(path, 'utf8'))) {
        problems.push(`content/lessons/${lesson}/${file}:${p.line}: ${p.text}  → ${p.rule.preferred} (${p.rule.why})`);
      }
    }
    assert.deepEqual(problems, [], 'rephrase with the preferred term (in natural 해요체, not a bare word swap)');
  });
}
