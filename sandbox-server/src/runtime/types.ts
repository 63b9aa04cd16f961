/**
 * The small interface the rest of the server uses to run sandboxes. The Docker
 * implementation lives in docker.ts; a Kubernetes one could sit beside it.
 */
import type { Duplex } from 'node:stream';

export interface SandboxInfo {
  id: string;
  /** The learner handle from the sandbox's labels. */
  learner: string;
  running: boolean;
  /** Container state as the engine reports it (running, exited, created, dead...). */
  engineState: string;
  createdAt: number;
  /** The image the container was made from (the runtime's own id for it). */
  imageId?: string;
}

export interface VolumeInfo {
  name: string;
  learner: string;
}

/** What sandboxes take on the engine host's disk (runtime.diskUsage). */
export interface DiskUsage {
  /** The filesystem that holds the engine's volumes: its size and what is still free, in bytes. */
  sizeBytes: number;
  freeBytes: number;
  /** Bytes really used (allocated, not apparent: the disks are sparse) per sandbox data volume, by learner. */
  volumes: Map<string, number>;
  /** Bytes in the pull-through cache's volume, when there is one. */
  cacheBytes?: number;
}

export interface ExecResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export type ExecUser = 'learner' | 'checker';

export interface Shell {
  /** Raw TTY bytes both ways. */
  stream: Duplex;
  resize(cols: number, rows: number): Promise<void>;
}

export interface SandboxLimits {
  memoryBytes: number;
  cpus: number;
  pids: number;
  /** Size of the sandbox's disk (home, nested images, containers, volumes); default 4 GiB. */
  diskBytes?: number;
  /** Open files per process (the nofile ulimit); default 16384. */
  nofile?: number;
}

export interface SandboxRuntime {
  /** Checks the engine and image and creates shared resources (the sandbox network). */
  prepare(): Promise<void>;
  ping(): Promise<boolean>;
  listSandboxes(): Promise<SandboxInfo[]>;
  listVolumes(): Promise<VolumeInfo[]>;
  find(learner: string): Promise<SandboxInfo | undefined>;
  create(learner: string): Promise<SandboxInfo>;
  start(id: string): Promise<void>;
  stop(id: string): Promise<void>;
  /** Removes the learner's container and data volume, whatever state they are in. */
  destroy(learner: string): Promise<void>;
  removeVolume(name: string): Promise<void>;
  /**
   * Runs a command to completion (no TTY) as the sandbox user, or as the checker:
   * a user of its own that the learner cannot signal, trace or write to, which can
   * read the learner's files (exercise checks run as it).
   */
  exec(id: string, cmd: string[], timeoutMs: number, as?: ExecUser): Promise<ExecResult>;
  /**
   * Follows the nested engine's events (`docker events`) inside the sandbox:
   * `onEvent` gets each event's type (container, image, volume, network...).
   * Returns a function that stops following.
   */
  watchEvents(id: string, onEvent: (type: string) => void): Promise<() => void>;
  /** Starts an interactive login shell with a TTY; `lang` is the language of its greeting (absent: both). */
  openShell(id: string, cols: number, rows: number, lang?: 'ko' | 'en'): Promise<Shell>;
  /**
   * A stopped sandbox made from an older sandbox image (Berth was upgraded since):
   * its container is removed, so the next start makes one from the current image
   * on the same data. Returns whether it did.
   */
  replaceIfOutdated?(info: SandboxInfo): Promise<boolean>;
  /** Last lines of the sandbox's own log, to explain a failed start. */
  logsTail(id: string, lines: number): Promise<string>;
  /** Disk used by each sandbox's data and what is left on the host (absent: not measurable, no disk budget). */
  diskUsage?(): Promise<DiskUsage>;
  /** Keeps caches the runtime runs within their size (after each measure). */
  limitCaches?(usage: DiskUsage): Promise<void>;
}
