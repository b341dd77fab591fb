/**
 * Functions a `select` may not call, wherever they appear in the statement. A read-only
 * transaction stops writes to tables, but not what these do: read or list server files, run a
 * program or another connection, signal other backends, change the server's or the session's
 * state outside the transaction (advisory locks, sequences, settings, replication slots, WAL), or
 * run SQL text that our parser never saw (query_to_xml, ts_stat). A superuser may call all of them.
 *
 * This is a denylist by necessity: PostgreSQL has thousands of functions and a database adds its
 * own, so an allowlist of callable functions would refuse ordinary reads. The statement shapes are
 * allowlisted instead (read-only-statement.ts); this list covers what a read shape can still call.
 * Names are matched on the function's own name (the last part of `schema.name`), case-folded, so
 * `pg_catalog.pg_read_file`, `"pg_read_file"` and `PG_READ_FILE` are all refused, and a function
 * of that name in any schema too. Functions a database defines itself (which may call anything)
 * cannot be judged by name: a least-privileged role is the operator's first defence.
 *
 * Decided: `pg_sleep*` stays allowed (the statement timeout bounds it); `currval`/`lastval` are
 * refused with the sequence writers (they read another statement's session state).
 */

/** Exact names. */
const DENIED_NAMES: ReadonlySet<string> = new Set([
  // server files
  'pg_stat_file',
  'pg_logdir_ls',
  'pg_hba_file_rules',
  'pg_ident_file_mappings',
  'pg_show_all_file_settings',
  // large objects without the lo_ prefix
  'loread',
  'lowrite',
  // settings and notifications
  'set_config',
  'pg_notify',
  // sequences
  'nextval',
  'setval',
  'currval',
  'lastval',
  // server control
  'pg_reload_conf',
  'pg_switch_wal',
  'pg_switch_xlog',
  'pg_promote',
  'pg_create_restore_point',
  'pg_start_backup',
  'pg_stop_backup',
  'pg_backup_start',
  'pg_backup_stop',
  'pg_log_backend_memory_contexts',
  'pg_log_standby_snapshot',
  'pg_import_system_collations',
  // transaction ids: assigning one is a write
  'txid_current',
  'pg_current_xact_id',
  // run SQL text (core, and contrib's tablefunc and xml2)
  'ts_stat',
  'ts_rewrite',
  'connectby',
  'xpath_table',
  // maintenance that writes indexes or the visibility map
  'gin_clean_pending_list',
  'pg_truncate_visibility_map',
]);

/** Families, by name pattern. */
const DENIED_PATTERNS: readonly RegExp[] = [
  /^pg_read_/, // pg_read_file, pg_read_binary_file
  /^pg_ls_/, // pg_ls_dir, pg_ls_logdir, pg_ls_waldir, pg_ls_tmpdir, ...
  /^pg_file_/, // adminpack: pg_file_write, pg_file_rename, pg_file_unlink, ...
  /^pg_get_wal_/, // pg_walinspect reads WAL files
  /^lo_/, // large objects: lo_import, lo_export, lo_get, lo_put, lo_create, lo_unlink, ...
  /^dblink/, // another connection, outside our transaction
  /^pg_background/, // a background worker, outside our transaction
  /^pg_(terminate|cancel|signal)_backend$/,
  /advisory/, // pg_advisory_lock, pg_try_advisory_xact_lock_shared, pg_advisory_unlock_all, ...
  /^pg_rotate_logfile/,
  /^pg_(wal|xlog)_replay_/,
  /^pg_logical_/, // slot changes, emitted messages
  /^pg_replication_/, // replication origins
  /replication_slot/, // create, drop, copy, advance, sync
  /(^|_)reset(_|$)/, // pg_stat_reset*, pg_stat_statements_reset, ...
  /^query_to_xml/, // query_to_xml, query_to_xmlschema, query_to_xml_and_xmlschema
  /^cursor_to_xml/,
  /^crosstab/, // tablefunc: crosstab(source_sql text, ...)
  /^binary_upgrade_/,
  /^brin_(de)?summarize/,
];

/** True when a function (or attribute-notation call) of this name is refused. */
export function isDeniedFunction(name: string): boolean {
  const folded = name.toLowerCase();
  return DENIED_NAMES.has(folded) || DENIED_PATTERNS.some((re) => re.test(folded));
}
