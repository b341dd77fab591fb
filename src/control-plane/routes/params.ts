/** URL parameter schemas shared by the routes (the id's shape is checked earlier, by input-limits.ts: 404 when malformed). */
import { z } from 'zod';

export const idParamsSchema = z.object({ id: z.string().min(1).describe('a well-formed id (letters, digits, . _ -, at most 128)') });
