/**
 * The actions allowlist, with the seed's semantics: an entry is an exact action FQN
 * (`com.datadoghq.http.request`) or a whole bundle (`com.datadoghq.http.*`); an empty list
 * admits nothing. Entries are compiled once into a set and a list of bundle prefixes.
 */
export class Allowlist {
  readonly entries: readonly string[];
  private readonly exact: ReadonlySet<string>;
  private readonly bundles: readonly string[];

  constructor(entries: readonly string[]) {
    this.entries = Object.freeze(entries.map((e) => e.trim()).filter((e) => e.length > 0));
    this.exact = new Set(this.entries.filter((e) => !e.endsWith('.*')));
    this.bundles = this.entries.filter((e) => e.endsWith('.*')).map((e) => e.slice(0, -1));
  }

  allows(action: string): boolean {
    if (this.exact.has(action)) return true;
    for (const prefix of this.bundles) {
      // `com.datadoghq.http.*` admits `com.datadoghq.http.request`, not `com.datadoghq.http.x.y`.
      if (action.startsWith(prefix) && !action.slice(prefix.length).includes('.') && action.length > prefix.length) return true;
    }
    return false;
  }
}
