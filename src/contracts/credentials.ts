/**
 * A connection's credentials as the worker hands them to an action, parsed from the seed's
 * credential files (src/actions/credentials.ts reads and checks the files). Values never appear in
 * errors, logs or results.
 */
export type Credentials =
  | { readonly authType: 'Token Auth'; readonly tokens: Readonly<Record<string, string>> }
  | { readonly authType: 'Basic Auth'; readonly username: string; readonly password: string }
  /** A script connection's file (`schemaId: script-credentials-v1`): the script bundle reads and checks it itself. */
  | { readonly authType: 'Script Config' };
