import {
  type DynamicModule,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { ApiKeyGuard } from './api-key.guard.js';
import { createRotationController } from './api-key-rotation.controller.js';
import { API_KEY_CONFIG, API_KEY_OPTIONS } from './constants.js';
import { type ApiKeyModuleExtras, type ApiKeyModuleOptions, invalidOption, resolveNestOptions } from './options.js';

/** `forRootAsync`: options from a factory (e.g. reading `ConfigService`), plus the module-level extras. */
export interface ApiKeyModuleAsyncOptions extends ApiKeyModuleExtras, Pick<ModuleMetadata, 'imports'> {
  useFactory: (...args: never[]) => ApiKeyModuleOptions | Promise<ApiKeyModuleOptions>;
  inject?: (InjectionToken | OptionalFactoryDependency)[];
}

const EXTRAS = ['globalGuard', 'rotation', 'isGlobal'] as const;

function rotationPath(rotation: ApiKeyModuleExtras['rotation']): string | undefined {
  if (rotation === undefined || rotation === false) return undefined;
  const path = rotation === true ? 'api-keys' : (rotation.path ?? 'api-keys');
  if (typeof path !== 'string' || path === '') throw invalidOption('rotation.path', 'must be a non-empty path');
  return path;
}

/**
 * keyward for Nest: provides `ApiKeyGuard` (for `@UseGuards`, or global with
 * `globalGuard: true` / your own `APP_GUARD`), and optionally the rotation controller.
 */
@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with static factories
export class ApiKeyModule {
  static forRoot(options: ApiKeyModuleOptions & ApiKeyModuleExtras = {}): DynamicModule {
    const own: Record<string, unknown> = { ...options };
    for (const name of EXTRAS) delete own[name];
    return ApiKeyModule.build([{ provide: API_KEY_OPTIONS, useValue: own }], options, []);
  }

  static forRootAsync(options: ApiKeyModuleAsyncOptions): DynamicModule {
    if (typeof options?.useFactory !== 'function') throw invalidOption('useFactory', 'must be a function returning the options');
    const provider: Provider = { provide: API_KEY_OPTIONS, useFactory: options.useFactory, inject: options.inject ?? [] };
    return ApiKeyModule.build([provider], options, options.imports ?? []);
  }

  private static build(
    optionProviders: Provider[],
    extras: ApiKeyModuleExtras,
    imports: NonNullable<ModuleMetadata['imports']>,
  ): DynamicModule {
    const path = rotationPath(extras.rotation);
    const providers: Provider[] = [
      ...optionProviders,
      { provide: API_KEY_CONFIG, useFactory: (options: ApiKeyModuleOptions) => resolveNestOptions(options), inject: [API_KEY_OPTIONS] },
      ApiKeyGuard,
    ];
    if (extras.globalGuard === true) providers.push({ provide: APP_GUARD, useClass: ApiKeyGuard });
    return {
      module: ApiKeyModule,
      global: extras.isGlobal ?? true,
      imports,
      providers,
      controllers: path === undefined ? [] : [createRotationController(path)],
      exports: [API_KEY_CONFIG, ApiKeyGuard],
    };
  }
}
