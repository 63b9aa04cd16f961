/** DOM events between lesson code blocks and the sandbox panel. */

/** Dispatched (bubbling) by a Run button; the panel sets `detail.result`. */
export const RUN_EVENT = 'berth:run';
export interface RunEventDetail {
  command: string;
  result?: 'sent' | 'queued';
}

/** Dispatched on `document` by the panel whenever the sandbox state changes. */
export const STATE_EVENT = 'berth:sandbox-state';
export interface StateEventDetail {
  state: string;
}
