/** DI token of the module options (what `forRoot` got, or `forRootAsync`'s factory returned). */
export const API_KEY_OPTIONS = Symbol('keyward:api-key-options');
/** DI token of the resolved runtime config (`NestApiKeyConfig`). */
export const API_KEY_CONFIG = Symbol('keyward:api-key-config');
/** Metadata: the route or controller skips the guard. */
export const IS_PUBLIC = 'keyward:public';
/** Metadata: scopes a route or controller requires. */
export const REQUIRED_SCOPES = 'keyward:scopes';
