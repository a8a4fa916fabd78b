export { type KeywardAdminHandler, keywardAdmin } from './admin.js';
export { openApiDocument } from './api/openapi.js';
export * as AdminSchemas from './api/schemas.js';
export { ADMIN_CLIENT_PREFIX } from './auth/admin-keys.js';
export { ADMIN_SCOPES, type AdminPrincipal, type AdminScope } from './auth/principal.js';
export { AdminErrorCodes } from './http/errors.js';
export type { KeywardAdminOptions } from './options.js';
