/**
 * The runner's identity as its config dir's `config.yaml` holds it (the seed's standalone runner
 * format plus the control-plane keys pinned at enrollment). Shape only: reading and writing the
 * file is src/lib/identity-file.ts.
 */
import { z } from 'zod';
import { jwkSchema, jwksSchema } from './runner-api.js';
import { keyRetirementsSchema } from './control-plane-keys.js';

export const runnerIdentitySchema = z.object({
  ddBaseURL: z.url(),
  urn: z.string().min(1),
  runnerId: z.string().min(1),
  orgId: z.string().min(1),
  runnerName: z.string().min(1),
  modes: z.array(z.string()).default(['pull']),
  actionsAllowlist: z.array(z.string()).default([]),
  privateKey: jwkSchema,
  publicKey: jwkSchema,
  controlPlaneKeys: jwksSchema,
  enrolledAt: z.string(),
  /** Key rotation: control-plane keys replaced by a successor, and when their tasks stop counting. */
  controlPlaneKeyRetirements: keyRetirementsSchema.optional(),
  /** Identity rotation in progress: the new key pair, written before the control plane is asked (crash recovery). */
  pendingIdentityKey: z.object({ privateKey: jwkSchema, publicKey: jwkSchema }).optional(),
  /**
   * Identity rotation: the queue tag key derived from the previous identity key (src/crypto/task-job-tag.ts),
   * so workers still run the jobs queued before the rotation, until `until` (epoch ms). Not the private key.
   */
  previousQueueKey: z.object({ kid: z.string().min(1), key: z.string().min(1), until: z.number().int() }).optional(),
});
export type RunnerIdentity = z.infer<typeof runnerIdentitySchema>;
