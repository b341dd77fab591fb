/**
 * The `Idempotency-Key` header of `POST /api/v1/tasks`: a client-chosen token that makes a retried
 * submission return the task the first one created instead of creating a second one. Shared by
 * the control plane (validation) and the clients (CLI, ApiClient) that send it.
 */
import { z } from 'zod';

export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set on answers to a submission that carried a key: `true` when the task already existed. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';

/** UUIDs, ULIDs, base64/base64url and dotted or colon-separated names all fit. */
export const idempotencyKeySchema = z.string().regex(/^[A-Za-z0-9._~:+/=-]{1,255}$/, '1-255 characters of A-Z a-z 0-9 . _ ~ : + / = -');
