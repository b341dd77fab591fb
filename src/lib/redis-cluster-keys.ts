/**
 * Redis Cluster naming, without I/O (config loaders use it): a URL `redis+cluster://host:port`
 * (or `rediss+cluster://`) names a cluster, and on a cluster every key prefix is wrapped in a hash
 * tag (`par` -> `{par}`) so that all keys of a process land in ONE slot: multi-key commands, our
 * Lua scripts (which also build key names from a prefix) and BullMQ's scripts stay legal there.
 * On a single Redis prefixes are left as they are (the key layout did not change).
 */
const CLUSTER_SCHEME = /^(rediss?)\+cluster:/i;

/** True when the URL names a Redis Cluster (`redis+cluster://` or `rediss+cluster://`). */
export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEME.test(url);
}

/** The URL with the `+cluster` dropped (`redis+cluster://h:p` -> `redis://h:p`). */
export function plainRedisUrl(url: string): string {
  return url.replace(CLUSTER_SCHEME, '$1:');
}

/** Wraps a key prefix in a hash tag (`par` -> `{par}`) unless it already holds one. */
export function hashTagged(prefix: string): string {
  return /\{[^}]+\}/.test(prefix) ? prefix : `{${prefix}}`;
}

/** The key prefix to use against this URL: hash-tagged on a cluster, unchanged on one Redis. */
export function keyPrefixFor(url: string, prefix: string): string {
  return isClusterUrl(url) ? hashTagged(prefix) : prefix;
}
