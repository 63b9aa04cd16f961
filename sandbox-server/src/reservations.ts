/**
 * Reserved capacity for a class session. An instructor books N sandboxes for a
 * window; from RESERVATION_LEAD_MS before it opens, the warm pool boots sandboxes
 * for it (with the images the class needs already pulled), so thirty learners
 * who join at nine o'clock each find a booted sandbox instead of queueing behind
 * thirty cold starts and thirty pulls of the same image.
 *
 * This module only keeps the books: which reservations are open, and how many
 * more warm sandboxes each still wants. The manager boots and hands them out.
 */

/** Warming starts this long before a reservation's window opens. */
export const RESERVATION_LEAD_MS = 10 * 60_000;
/** At most this many images are pulled into each reserved sandbox. */
export const MAX_RESERVED_IMAGES = 8;

export interface Reservation {
  /** Who booked it (a class id): one reservation per id, a new one replaces it. */
  id: string;
  /** Sandboxes wanted warm when the window opens. */
  count: number;
  /** Epoch ms: the window. */
  startsAt: number;
  endsAt: number;
  /** Images pulled into each reserved sandbox before it is handed out (as `docker pull` would). */
  images: readonly string[];
}

export interface ReservationState extends Reservation {
  /** Learners of this reservation who took a sandbox since it began warming. */
  claimed: number;
}

/** Image references as a learner types them: [registry/]name[:tag][@digest], nothing a shell would read. */
const IMAGE_REF = /^([a-z0-9][a-z0-9.-]{0,100}(:[0-9]{1,5})?\/)?[a-z0-9][a-z0-9._\/-]{0,200}(:[A-Za-z0-9_][A-Za-z0-9._-]{0,127})?(@sha256:[a-f0-9]{64})?$/;

/** A reservation as given, or the reason it cannot be taken. */
export function validateReservation(r: Reservation, now: number, maxCount: number): string | undefined {
  if (!r.id) return 'a reservation needs an id';
  if (!Number.isInteger(r.count) || r.count < 1) return 'count must be a whole number of at least 1';
  if (r.count > maxCount) return `count must be at most ${maxCount} (the sandboxes this host can run)`;
  if (!Number.isFinite(r.startsAt) || !Number.isFinite(r.endsAt) || r.endsAt <= r.startsAt) return 'the window must end after it starts';
  if (r.endsAt <= now) return 'the window is already over';
  if (r.images.length > MAX_RESERVED_IMAGES) return `at most ${MAX_RESERVED_IMAGES} images`;
  const bad = r.images.find((image) => !IMAGE_REF.test(image));
  if (bad !== undefined) return `not an image reference: ${JSON.stringify(bad.slice(0, 80))}`;
  return undefined;
}

export class Reservations {
  private readonly byId = new Map<string, ReservationState>();

  /** Books (or re-books) a reservation; claims made so far carry over when only its details change. */
  set(r: Reservation): void {
    const claimed = this.byId.get(r.id)?.claimed ?? 0;
    this.byId.set(r.id, { ...r, images: [...r.images], claimed });
  }

  cancel(id: string): boolean {
    return this.byId.delete(id);
  }

  get(id: string): ReservationState | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.byId.size;
  }

  /** Warming or open at `now`. */
  isActive(id: string, now: number): boolean {
    const r = this.byId.get(id);
    return r !== undefined && now >= r.startsAt - RESERVATION_LEAD_MS && now < r.endsAt;
  }

  /** A learner of reservation `id` took a sandbox (a reserved one or any other). */
  recordClaim(id: string, now: number): void {
    const r = this.byId.get(id);
    if (r && this.isActive(id, now)) r.claimed++;
  }

  /**
   * The active reservation that most needs one more warm sandbox, given how many
   * each already has in the pool (`pooled`), or undefined when all have enough.
   * Learners who already arrived no longer need one: the reservation shrinks as
   * its class arrives.
   */
  nextToFill(now: number, pooled: (id: string) => number): ReservationState | undefined {
    let best: ReservationState | undefined;
    let bestShort = 0;
    for (const r of this.byId.values()) {
      if (!this.isActive(r.id, now)) continue;
      const short = r.count - r.claimed - pooled(r.id);
      if (short > bestShort || (short === bestShort && short > 0 && best && r.startsAt < best.startsAt)) {
        best = r;
        bestShort = short;
      }
    }
    return best;
  }

  /** Drops reservations whose window is over; returns their ids. */
  prune(now: number): string[] {
    const ended: string[] = [];
    for (const r of this.byId.values()) {
      if (now >= r.endsAt) {
        this.byId.delete(r.id);
        ended.push(r.id);
      }
    }
    return ended;
  }
}
