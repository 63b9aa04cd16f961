/**
 * What a failing built-in check tells the learner, in each language. An author's
 * own `feedback` on a check wins; a script check's last output line comes next.
 */
import { lastLine } from './compile.ts';
import type { CheckResult } from './compile.ts';
import type { BuiltinCheck, Check, Lang } from './schema.ts';

type Texts = { ko: string; en: string };

export function builtinFeedback(check: BuiltinCheck): Texts {
  switch (check.type) {
    case 'container_exists':
      return { ko: `'${check.name}' 컨테이너가 아직 없어요.`, en: `There is no container named '${check.name}' yet.` };
    case 'container_running':
      return { ko: `'${check.name}' 컨테이너가 실행 중이 아니에요.`, en: `The container '${check.name}' is not running.` };
    case 'container_exited':
      return { ko: `'${check.name}' 컨테이너가 없거나 아직 멈추지 않았어요.`, en: `The container '${check.name}' does not exist or has not stopped.` };
    case 'container_uses_image':
      return { ko: `'${check.name}' 컨테이너가 ${check.image} 이미지로 만들어지지 않았어요.`, en: `The container '${check.name}' was not created from the image ${check.image}.` };
    case 'container_publishes_port':
      return check.host_port
        ? { ko: `'${check.name}' 컨테이너가 호스트 ${check.host_port}번 포트를 컨테이너 ${check.container_port}번 포트로 연결하지 않았어요.`, en: `The container '${check.name}' does not publish container port ${check.container_port} on host port ${check.host_port}.` }
        : { ko: `'${check.name}' 컨테이너가 ${check.container_port}번 포트를 공개하지 않았어요.`, en: `The container '${check.name}' does not publish port ${check.container_port}.` };
    case 'container_has_env':
      return check.value === undefined
        ? { ko: `'${check.name}' 컨테이너에 환경 변수 ${check.variable}가 없어요.`, en: `The container '${check.name}' has no environment variable ${check.variable}.` }
        : { ko: `'${check.name}' 컨테이너의 ${check.variable} 값이 ${check.value}가 아니에요.`, en: `In the container '${check.name}', ${check.variable} is not ${check.value}.` };
    case 'container_has_mount':
      return { ko: `'${check.name}' 컨테이너의 ${check.destination}에 ${check.source ? `${check.source}이(가) ` : ''}마운트되어 있지 않아요.`, en: `The container '${check.name}' has no mount${check.source ? ` of ${check.source}` : ''} at ${check.destination}.` };
    case 'container_on_network':
      return { ko: `'${check.name}' 컨테이너가 ${check.network} 네트워크에 연결되어 있지 않아요.`, en: `The container '${check.name}' is not on the network ${check.network}.` };
    case 'container_count': {
      const range = check.min !== undefined && check.max !== undefined ? `${check.min}-${check.max}` : check.min !== undefined ? `≥ ${check.min}` : `≤ ${check.max}`;
      return check.running_only
        ? { ko: `실행 중인 컨테이너 수가 ${range}개가 아니에요.`, en: `The number of running containers is not ${range}.` }
        : { ko: `컨테이너 수가 ${range}개가 아니에요.`, en: `The number of containers is not ${range}.` };
    }
    case 'image_exists':
      return { ko: `${check.image} 이미지가 아직 없어요.`, en: `The image ${check.image} is not there yet.` };
    case 'image_absent':
      return { ko: `${check.image} 이미지가 아직 남아 있어요.`, en: `The image ${check.image} is still there.` };
    case 'image_has_label':
      return { ko: `${check.image} 이미지에 ${check.key} 레이블이${check.value ? ` ${check.value} 값으로` : ''} 붙어 있지 않아요.`, en: `The image ${check.image} has no label ${check.key}${check.value ? `=${check.value}` : ''}.` };
    case 'image_size_under':
      return { ko: `${check.image} 이미지가 없거나 ${check.mb} MB보다 커요.`, en: `The image ${check.image} is missing or not under ${check.mb} MB.` };
    case 'dockerfile_stages':
      return { ko: `${check.path}에 FROM 단계가 ${check.min}개 이상 있어야 해요.`, en: `${check.path} needs at least ${check.min} FROM stages.` };
    case 'volume_exists':
      return { ko: `'${check.name}' 볼륨이 아직 없어요.`, en: `There is no volume named '${check.name}' yet.` };
    case 'volume_contains':
      return { ko: `'${check.volume}' 볼륨에 ${check.path}${check.contains ? ` (내용: ${check.contains})` : ''}이(가) 없어요.`, en: `The volume '${check.volume}' has no ${check.path}${check.contains ? ` containing "${check.contains}"` : ''}.` };
    case 'network_exists':
      return { ko: `'${check.name}' 네트워크가 아직 없어요.`, en: `There is no network named '${check.name}' yet.` };
    case 'network_has_container':
      return { ko: `'${check.container}' 컨테이너가 ${check.network} 네트워크에 없어요.`, en: `The container '${check.container}' is not on the network ${check.network}.` };
    case 'containers_resolve':
      return { ko: `'${check.from}' 컨테이너에서 '${check.to}'라는 이름을 찾지 못해요.`, en: `The container '${check.from}' cannot resolve the name '${check.to}'.` };
    case 'http':
      return { ko: `localhost:${check.port}${check.path}에서 기대한 응답이 오지 않아요${check.contains ? ` ("${check.contains}" 포함)` : ''}.`, en: `localhost:${check.port}${check.path} does not answer as expected${check.contains ? ` (containing "${check.contains}")` : ''}.` };
    case 'file_exists':
      return { ko: `${check.path} 파일이 없어요.`, en: `The file ${check.path} does not exist.` };
    case 'file_contains':
      return { ko: `${check.path} 파일에 "${check.contains}"이(가) 없어요.`, en: `The file ${check.path} does not contain "${check.contains}".` };
    case 'command_ran':
      return { ko: '아직 이 명령을 실행하지 않았어요.', en: 'You have not run this command yet.' };
  }
}

/**
 * The engine proxy found something other than the engine Berth started behind the
 * learner's Docker socket (moved aside, answered by a stand-in, a killed engine).
 */
export const ENGINE_UNVERIFIED: Texts = {
  ko: 'Berth가 시작한 Docker 엔진이 ~/.run/docker.sock에서 응답하지 않아서 확인할 수 없어요. 소켓을 옮기거나 다른 프로그램이 대신 응답하게 했다면 되돌리고, 그래도 안 되면 샌드박스를 다시 시작해 보세요.',
  en: 'Berth cannot check this: the Docker engine it started is not the one answering at ~/.run/docker.sock. If you moved the socket or had another program answer there, undo that; otherwise restart your sandbox.',
};

/** The text shown for a failing or hung check, in the page's language. */
export function failureFeedback(check: Check, result: CheckResult | null, lang: Lang): string {
  if (result?.engineUnverified) return ENGINE_UNVERIFIED[lang];
  if (result?.timedOut) return lang === 'ko' ? '확인이 너무 오래 걸려서 멈췄어요. 잠시 뒤에 다시 확인해 보세요.' : 'The check took too long and was stopped. Try again in a moment.';
  if (check.feedback) return check.feedback[lang];
  if (check.type === 'script') {
    const said = result ? lastLine(result.output) : undefined;
    return said ?? (lang === 'ko' ? '아직 조건을 만족하지 않아요.' : 'Not there yet.');
  }
  return builtinFeedback(check)[lang];
}
