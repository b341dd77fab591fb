/**
 * Runner name -> id per org, remembered by each control-plane process so a submission naming its
 * runner reads the runner's record at once (one round trip) instead of resolving the name first
 * (HGET of the org's name index, then HGETALL). Never trusted on its own: the record read by the
 * remembered id must still be in that org and still carry that name, else the entry is dropped and
 * the name resolved again. So a runner renamed, deleted, or deleted and enrolled again under the
 * same name (a new id) through any process is found correctly on the very next call, with no
 * invalidation message. Bounded (LRU); an entry costs ~100 bytes.
 */
const MAX_ENTRIES = 10_000;

export class RunnerNameCache {
  /** `<orgId> <name>` -> runner id; Map order is the LRU order (oldest first). */
  private readonly ids = new Map<string, string>();

  get(orgId: string, name: string): string | undefined {
    const key = `${orgId} ${name}`;
    const id = this.ids.get(key);
    if (id !== undefined) {
      this.ids.delete(key);
      this.ids.set(key, id);
    }
    return id;
  }

  set(orgId: string, name: string, id: string): void {
    const key = `${orgId} ${name}`;
    this.ids.delete(key);
    this.ids.set(key, id);
    if (this.ids.size > MAX_ENTRIES) {
      const oldest = this.ids.keys().next().value;
      if (oldest !== undefined) this.ids.delete(oldest);
    }
  }

  delete(orgId: string, name: string): void {
    this.ids.delete(`${orgId} ${name}`);
  }

  get size(): number {
    return this.ids.size;
  }
}
