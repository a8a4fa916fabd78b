import { OpenAPIRegistry, OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { API_ROUTES } from './routes.js';
import { ErrorBody } from './schemas.js';

/**
 * The admin API's OpenAPI 3.1 document, generated from the same zod schemas that
 * validate its requests (`API_ROUTES`): the document cannot drift from the code.
 * Paths are relative to `<mount>/api/v1`.
 */
export function openApiDocument(): object {
  const registry = new OpenAPIRegistry();
  registry.registerComponent('securitySchemes', 'adminKey', {
    type: 'http',
    scheme: 'bearer',
    description: 'An admin key (scope keyward:read or keyward:write). Browsers use the session cookie instead.',
  });
  const errors = (codes: readonly number[]) =>
    Object.fromEntries(
      codes.map((code) => [code, { description: 'An error with a stable code', content: { 'application/json': { schema: ErrorBody } } }]),
    );
  for (const route of API_ROUTES) {
    const params = [...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
    const headers = route.idempotent
      ? z.object({ 'idempotency-key': z.string().min(1).max(255).optional().describe('retries with the same key get the first answer') })
      : undefined;
    registry.registerPath({
      method: route.method,
      path: route.path,
      summary: route.summary,
      security: [{ adminKey: [] }],
      request: {
        ...(params.length > 0 ? { params: z.object(Object.fromEntries(params.map((p) => [p, z.string()]))) } : {}),
        ...(route.query ? { query: route.query } : {}),
        ...(headers ? { headers } : {}),
        ...(route.body ? { body: { required: true, content: { 'application/json': { schema: route.body } } } } : {}),
      },
      responses: {
        [route.status]: { description: route.summary, content: { 'application/json': { schema: route.response } } },
        ...errors(route.write ? [400, 401, 403, 404, 409, 503] : [400, 401, 403, 404, 503]),
      },
    });
  }
  const generator = new OpenApiGeneratorV31(registry.definitions);
  return generator.generateDocument({
    openapi: '3.1.0',
    info: { title: 'keyward admin API', version: '1.0.0', description: 'Manage keyward keys, rotations and the audit trail.' },
    // Relative to this document (…/api/v1/openapi.json): the mount point may be anywhere.
    servers: [{ url: '../v1' }],
  });
}
