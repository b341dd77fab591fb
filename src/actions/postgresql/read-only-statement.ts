/**
 * Decides whether a parsed statement is one read, before it reaches the server. The read-only
 * transaction alone does not stop a superuser: COPY ... TO PROGRAM, pg_read_file, lo_export,
 * advisory locks, sequences, settings and backend signals all pass it. So `select` accepts only:
 *
 *   one statement: SELECT / WITH ... SELECT / VALUES / TABLE, SHOW, or EXPLAIN (no ANALYZE) of one
 *
 * and walks the whole tree (subqueries, CTEs, function arguments, casts, FROM items, window and
 * JSON/XML clauses) with an allowlist of node types: anything that is not a plain read expression
 * (an INSERT/UPDATE/DELETE/MERGE in a CTE, a locking clause, SELECT INTO) is refused by name. Calls
 * are checked against denied-functions.ts, in ordinary and in attribute notation (`(x).f` calls
 * f(x) in PostgreSQL). The tree is libpg-query's JSON: a node is `{ "TypeName": { ...fields } }`;
 * fields typed as one specific node (SelectStmt.larg, TypeCast.typeName) are not wrapped.
 *
 * The walk is iterative: a deep tree cannot overflow the stack. No I/O here.
 */
import { ParError } from '../../errors/par-error.js';
import { isDeniedFunction } from './denied-functions.js';

/** Node types a read may contain below its statement. */
const READ_NODES: ReadonlySet<string> = new Set([
  'SelectStmt',
  'ResTarget',
  'RangeVar',
  'RangeSubselect',
  'RangeFunction',
  'RangeTableFunc',
  'RangeTableFuncCol',
  'RangeTableSample',
  'JoinExpr',
  'Alias',
  'SortBy',
  'WindowDef',
  'WithClause',
  'CommonTableExpr',
  'CTESearchClause',
  'CTECycleClause',
  'GroupingSet',
  'GroupingFunc',
  'ColumnDef',
  'TypeName',
  'A_Expr',
  'A_Const',
  'A_Star',
  'A_Indices',
  'A_Indirection',
  'A_ArrayExpr',
  'ColumnRef',
  'ParamRef',
  'FuncCall',
  'NamedArgExpr',
  'TypeCast',
  'CollateClause',
  'SubLink',
  'BoolExpr',
  'NullTest',
  'BooleanTest',
  'CaseExpr',
  'CaseWhen',
  'CoalesceExpr',
  'MinMaxExpr',
  'RowExpr',
  'SQLValueFunction',
  'XmlExpr',
  'XmlSerialize',
  'String',
  'Integer',
  'Float',
  'Boolean',
  'BitString',
  'List',
  'JsonObjectConstructor',
  'JsonArrayConstructor',
  'JsonArrayQueryConstructor',
  'JsonAggConstructor',
  'JsonObjectAgg',
  'JsonArrayAgg',
  'JsonKeyValue',
  'JsonValueExpr',
  'JsonOutput',
  'JsonReturning',
  'JsonFormat',
  'JsonIsPredicate',
  'JsonFuncExpr',
  'JsonTable',
  'JsonTablePathSpec',
  'JsonTableColumn',
  'JsonBehavior',
  'JsonArgument',
  'JsonParseExpr',
  'JsonScalarExpr',
  'JsonSerializeExpr',
]);

/** How a refused node is named in the error: the SQL a person wrote, where it is not obvious. */
const SQL_NAMES: Readonly<Record<string, string>> = {
  InsertStmt: 'INSERT',
  UpdateStmt: 'UPDATE',
  DeleteStmt: 'DELETE',
  MergeStmt: 'MERGE',
  CopyStmt: 'COPY',
  LockingClause: 'FOR UPDATE/SHARE (row locks)',
  IntoClause: 'SELECT INTO',
  CreateTableAsStmt: 'CREATE TABLE AS / SELECT INTO',
  PrepareStmt: 'PREPARE',
  ExecuteStmt: 'EXECUTE',
  DeallocateStmt: 'DEALLOCATE',
  DoStmt: 'DO',
  CallStmt: 'CALL',
  VariableSetStmt: 'SET',
  TransactionStmt: 'a transaction command',
  DeclareCursorStmt: 'DECLARE CURSOR',
  FetchStmt: 'FETCH',
  ClosePortalStmt: 'CLOSE',
  ListenStmt: 'LISTEN',
  UnlistenStmt: 'UNLISTEN',
  NotifyStmt: 'NOTIFY',
  LockStmt: 'LOCK',
  VacuumStmt: 'VACUUM/ANALYZE',
  CheckPointStmt: 'CHECKPOINT',
  LoadStmt: 'LOAD',
  DiscardStmt: 'DISCARD',
  ExplainStmt: 'EXPLAIN of this statement',
  VariableShowStmt: 'SHOW inside another statement',
  SetToDefault: 'DEFAULT',
  CurrentOfExpr: 'WHERE CURRENT OF',
  MultiAssignRef: 'a multiple-column assignment',
};

/** What one parsed text holds: libpg-query's parse result. */
export interface ParsedStatements {
  readonly stmts?: ReadonlyArray<{ readonly stmt?: unknown }>;
}

function refused(what: string): ParError {
  return new ParError(
    'PAR_ERR_POSTGRES_READ_ONLY',
    `refused ${what}; select accepts one SELECT, VALUES, TABLE, SHOW or EXPLAIN (without ANALYZE) that only reads`,
  );
}

function sqlName(nodeType: string): string {
  return (
    SQL_NAMES[nodeType] ??
    nodeType
      .replace(/Stmt$/, '')
      .replace(/([a-z])([A-Z])/g, '$1 $2')
      .toUpperCase()
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The only key of a wrapped node, e.g. `SelectStmt` of `{ SelectStmt: {...} }`. */
function unwrap(node: unknown): [string, Record<string, unknown>] | undefined {
  if (!isObject(node)) return undefined;
  const keys = Object.keys(node);
  const type = keys[0];
  if (keys.length !== 1 || type === undefined || !/^[A-Z]/.test(type)) return undefined;
  const body = node[type];
  return isObject(body) ? [type, body] : undefined;
}

/** The `sval`s of a list of String nodes (function names, column references, indirection). */
function names(list: unknown): string[] {
  if (!Array.isArray(list)) return [];
  const out: string[] = [];
  for (const item of list) {
    const s = isObject(item) && isObject(item['String']) ? item['String']['sval'] : undefined;
    if (typeof s === 'string') out.push(s);
  }
  return out;
}

function checkCall(type: string, body: Record<string, unknown>): void {
  if (type === 'FuncCall') {
    const name = names(body['funcname']).at(-1);
    if (name !== undefined && isDeniedFunction(name)) throw refused(`a call to ${name}()`);
  } else if (type === 'RangeTableSample') {
    const name = names(body['method']).at(-1);
    if (name !== undefined && isDeniedFunction(name)) throw refused(`a call to ${name}()`);
  } else if (type === 'ColumnRef' || type === 'A_Indirection') {
    // `(expr).f` and `t.f` call f(expr) when no column f exists.
    for (const name of names(body[type === 'ColumnRef' ? 'fields' : 'indirection'])) {
      if (isDeniedFunction(name)) throw refused(`a reference to ${name} (attribute notation calls the function)`);
    }
  }
}

/** Walks everything below `root`; every wrapped node must be a read node. */
function checkReadTree(root: unknown): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
      continue;
    }
    if (!isObject(value)) continue;
    const node = unwrap(value);
    if (node) {
      const [type, body] = node;
      if (!READ_NODES.has(type)) throw refused(sqlName(type));
      checkCall(type, body);
      stack.push(body);
      continue;
    }
    // A plain object: the fields of a node, or a node typed by its field (SelectStmt.larg).
    for (const [field, child] of Object.entries(value)) {
      if (field === 'intoClause' && child !== undefined) throw refused(sqlName('IntoClause'));
      if (field === 'lockingClause' && Array.isArray(child) && child.length > 0) throw refused(sqlName('LockingClause'));
      if (typeof child === 'object' && child !== null) stack.push(child);
    }
  }
}

function checkExplain(body: Record<string, unknown>): void {
  const options = Array.isArray(body['options']) ? body['options'] : [];
  for (const option of options) {
    const def = unwrap(option);
    const name = def && def[0] === 'DefElem' ? def[1]['defname'] : undefined;
    if (typeof name !== 'string') throw refused('an EXPLAIN option it cannot read');
    // EXPLAIN ANALYZE runs the statement; refused whatever its value, ANALYZE false included.
    if (name.toLowerCase() === 'analyze') throw refused('EXPLAIN ANALYZE (it runs the statement)');
  }
  const inner = unwrap(body['query']);
  if (!inner || inner[0] !== 'SelectStmt') throw refused(inner ? `EXPLAIN of ${sqlName(inner[0])}` : 'EXPLAIN without a statement');
  checkReadTree(body['query']);
}

/**
 * Throws PAR_ERR_POSTGRES_READ_ONLY naming what was refused unless `parsed` is exactly one read
 * statement. `parsed` is the parser's result for the whole task text.
 */
export function assertOneReadStatement(parsed: ParsedStatements): void {
  const stmts = parsed.stmts ?? [];
  if (stmts.length === 0)
    throw new ParError('PAR_ERR_POSTGRES_QUERY_INVALID', 'the query holds no statement (only comments or white space)');
  if (stmts.length > 1) throw refused(`${stmts.length} statements in one text`);
  const top = unwrap(stmts[0]?.stmt);
  if (!top) throw refused('a statement the parser did not recognise');
  const [type, body] = top;
  switch (type) {
    case 'SelectStmt':
      checkReadTree(stmts[0]?.stmt);
      return;
    case 'VariableShowStmt':
      return;
    case 'ExplainStmt':
      checkExplain(body);
      return;
    default:
      throw refused(sqlName(type));
  }
}
