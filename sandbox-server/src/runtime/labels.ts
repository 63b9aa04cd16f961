/** Labels on everything Berth creates, so it can find, adopt and clean up its own. */
export const LABEL = {
  managed: 'org.berth.managed',
  instance: 'org.berth.instance',
  role: 'org.berth.role',
  learner: 'org.berth.learner',
  created: 'org.berth.created',
  /** On long-lived service containers: a hash of their image ID and settings (runtime/service-container.ts). */
  spec: 'org.berth.spec',
} as const;

export type Role = 'sandbox' | 'sandbox-data' | 'network' | 'dns';

export function berthLabels(instance: string, role: Role, learner?: string): Record<string, string> {
  const labels: Record<string, string> = {
    [LABEL.managed]: 'true',
    [LABEL.instance]: instance,
    [LABEL.role]: role,
    [LABEL.created]: new Date().toISOString(),
  };
  if (learner) labels[LABEL.learner] = learner;
  return labels;
}

/** Engine-side filter for one instance's objects of one role. */
export function labelFilter(instance: string, role: Role, learner?: string): { label: string[] } {
  const label = [`${LABEL.managed}=true`, `${LABEL.instance}=${instance}`, `${LABEL.role}=${role}`];
  if (learner) label.push(`${LABEL.learner}=${learner}`);
  return { label };
}
