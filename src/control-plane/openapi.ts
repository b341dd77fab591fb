/**
 * The control plane's OpenAPI 3.1 document, generated from the zod schemas the routes declare
 * (@fastify/swagger collects every route registered after it; fastify-type-provider-zod turns the
 * zod schemas into JSON Schema) and served at `GET /api/openapi.json` without a key: it describes
 * the API, never data. The web page's routes are left out (`hide: true`): they serve one static
 * HTML shell and its assets, not the API.
 */
import fastifySwagger from '@fastify/swagger';
import type { FastifyInstance } from 'fastify';
import { jsonSchemaTransform, jsonSchemaTransformObject, type FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { PACKAGE_VERSION } from '../version.js';
import { API_KEY_HEADER, APP_KEY_HEADER } from './auth/keys.js';
import { withErrors } from './schema-compilers.js';

export const OPENAPI_PATH = '/api/openapi.json';

/** Names of the security schemes routes cite in `schema.security`. */
export const SECURITY = {
  /** `DD-APPLICATION-KEY`: who acts (a user or service account) and with which scopes. */
  appKey: [{ appKey: [] }],
  /** `DD-API-KEY` + `DD-APPLICATION-KEY` (runner enrollment with keys) or an enrollment token. */
  enroll: [{ apiKey: [], appKey: [] }, { enrollmentToken: [] }],
  /** The runner's request JWT (`Authorization: Bearer`), signed with its identity key. */
  runner: [{ runnerToken: [] }],
  /** No credentials. */
  none: [],
} as const;

/** Registers the document generator; must come before the routes it describes. */
export function registerOpenApi(app: FastifyInstance): void {
  void app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Private action runner control plane',
        version: PACKAGE_VERSION,
        description: 'Admin API (app keys), task API, and the runner-facing API (runner request JWTs). Errors: docs/errors.md.',
      },
      components: {
        securitySchemes: {
          appKey: { type: 'apiKey', in: 'header', name: APP_KEY_HEADER },
          apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER },
          runnerToken: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          enrollmentToken: { type: 'http', scheme: 'bearer', description: 'one-time par_enroll_... token' },
        },
      },
    },
    transform: jsonSchemaTransform,
    // Schemas registered with an id (the error envelope) become components, cited by $ref.
    transformObject: jsonSchemaTransformObject,
  });
}

const openApiDocumentSchema = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.record(z.string(), z.unknown()) });

/** `GET /api/openapi.json`. */
export const openApiRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    OPENAPI_PATH,
    {
      schema: { summary: 'This document', security: SECURITY.none, response: withErrors({ 200: openApiDocumentSchema }) },
    },
    async () => openApiDocumentSchema.parse(app.swagger()),
  );
};
