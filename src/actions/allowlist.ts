/**
 * The actions allowlist, with the seed's semantics: an entry is an exact action FQN
 * (`com.datadoghq.http.request`) or a whole bundle (`com.datadoghq.http.*`); an empty list
 * admits nothing. Entries are compiled once into a set and a list of bundle prefixes.
 *
 * Inherited actions, as the vendor runner has them: allowing any action of a bundle also allows
 * that bundle's `testConnection` (so the connection test works with a documented allowlist), and
 * allowing any script action also allows `com.datadoghq.script.enrichScript` (the script picker).
 */
const SCRIPT_BUNDLE = 'com.datadoghq.script';

/** What allowing an action of `bundle` allows besides. */
function inheritedBy(bundle: string): string[] {
  const inherited = [`${bundle}.testConnection`];
  if (bundle === SCRIPT_BUNDLE) inherited.push(`${SCRIPT_BUNDLE}.enrichScript`);
  return inherited;
}

function bundleOf(fqn: string): string | undefined {
  const dot = fqn.lastIndexOf('.');
  return dot > 0 ? fqn.slice(0, dot) : undefined;
}

export class Allowlist {
  readonly entries: readonly string[];
  private readonly exact: ReadonlySet<string>;
  private readonly bundles: readonly string[];

  constructor(entries: readonly string[]) {
    this.entries = Object.freeze(entries.map((e) => e.trim()).filter((e) => e.length > 0));
    const exact = new Set(this.entries.filter((e) => !e.endsWith('.*')));
    this.bundles = this.entries.filter((e) => e.endsWith('.*')).map((e) => e.slice(0, -1));
    for (const entry of this.entries) {
      const bundle = entry.endsWith('.*') ? entry.slice(0, -2) : bundleOf(entry);
      if (bundle !== undefined && bundle.length > 0) for (const fqn of inheritedBy(bundle)) exact.add(fqn);
    }
    this.exact = exact;
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
