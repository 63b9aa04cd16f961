/**
 * The one place learners' progress changes are published. The exercise checker
 * (exercises/live.ts) publishes each lesson's state whenever it sends it to the
 * learner's own pages (after a check run, a hint, a revealed solution, a quiz);
 * the class grid subscribes. Subscribers never see each other's failures: one
 * that throws is logged and the rest still run (nothing a learner does may throw
 * out of the checker).
 */
import type { Lang } from '../exercises/schema.ts';

export type ProgressStatus = 'pending' | 'passed' | 'failing';

/** One exercise or quiz of a lesson, as the checker sees it now. */
export interface ProgressItem {
  /** The exercise id, or quiz:<id>. */
  id: string;
  status: ProgressStatus;
  /** The last failing check's feedback, while the learner's sandbox is watched. */
  feedback?: Record<Lang, string>;
  attempts: number;
  hintsUsed: number;
  solutionRevealed: boolean;
  passedAt: number | null;
  triedAt: number | null;
}

export interface ProgressEvent {
  type: 'progress';
  learner: string;
  lesson: string;
  /** A check run is in flight for this learner. */
  checking: boolean;
  items: ProgressItem[];
  at: number;
}

/** A learner joined or left a class, or the class changed (ended). */
export interface MembershipEvent {
  type: 'membership';
  classId: string;
  learner?: string;
  at: number;
}

/** Something the instructor tells a class (a message, or that it ended): learners' pages show it. */
export interface NoticeEvent {
  type: 'notice';
  classId: string;
  notice: { kind: 'message'; text: string } | { kind: 'ended' };
  at: number;
}

export type BusEvent = ProgressEvent | MembershipEvent | NoticeEvent;

export class ProgressBus {
  private readonly listeners = new Set<(e: BusEvent) => void>();
  private readonly onError: (err: unknown) => void;

  constructor(onError: (err: unknown) => void = () => {}) {
    this.onError = onError;
  }

  /** Whether anyone listens (the checker skips building events nobody reads). */
  get active(): boolean {
    return this.listeners.size > 0;
  }

  subscribe(listener: (e: BusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: BusEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        this.onError(err);
      }
    }
  }
}
