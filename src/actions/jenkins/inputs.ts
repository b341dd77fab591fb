/**
 * Input schemas of the `com.datadoghq.jenkins` bundle, with the vendor's names (`jobName`,
 * `buildWithParameters: {option, parameters}`). A job name is put into the URL path as the vendor
 * puts it (Go's url.PathEscape with `/` kept, so `folder/job` stays two segments); a `.` or `..`
 * segment or an empty one is refused here, so a task can never steer a request to another Jenkins
 * endpoint (`../../scriptText`).
 */
import { z } from 'zod';

export const jobNameSchema = z
  .string()
  .min(1)
  .max(1024)
  // eslint-disable-next-line no-control-regex -- control characters are what this refuses
  .refine((name) => !/[\u0000-\u001f\u007f]/.test(name), 'must not contain control characters')
  .refine(
    (name) => name.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
    'must not have empty, "." or ".." path segments',
  );

export const buildJobInputSchema = z.object({
  jobName: jobNameSchema,
  buildWithParameters: z
    .object({
      option: z.enum(['no_parameters', 'with_parameters']).optional(),
      parameters: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String)).optional(),
    })
    .optional(),
});
export type BuildJobInput = z.output<typeof buildJobInputSchema>;

export const jobInputSchema = z.object({ jobName: jobNameSchema });

/** Go's url.PathEscape (RFC 3986 unreserved plus `$&+:=@` kept), then `%2F` back to `/`, as the vendor's encodeJobNameForUrl. */
export function encodeJobName(name: string): string {
  let out = '';
  for (const byte of Buffer.from(name, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.~$&+:=@/]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
