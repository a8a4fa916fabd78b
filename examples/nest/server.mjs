// A small NestJS API protected by keyward, in plain JavaScript (decorators applied as
// functions, so no build step). Run from the repo root: node examples/nest/server.mjs
import 'reflect-metadata';
import { ApiKey, ApiKeyModule, Public, Scopes } from '@keyward/nest';
import { Controller, Get, HttpCode, Module, Post } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { announce, demoKeyward, fail } from '../shared/demo-key.mjs';

/** Applies method decorators and parameter decorators to `Class.prototype[name]`. */
function route(Class, name, decorators, params = []) {
  const proto = Class.prototype;
  Reflect.decorate(decorators, proto, name, Object.getOwnPropertyDescriptor(proto, name));
  for (const [index, decorate] of params.entries()) decorate(proto, name, index);
}

class OrdersController {
  list(key) {
    return { client: key.clientId, orders: [{ id: 1, item: 'coffee' }] };
  }
  create(key) {
    return { client: key.clientId, id: 2 };
  }
}
Controller('orders')(OrdersController);
route(OrdersController, 'list', [Get()], [ApiKey()]);
route(OrdersController, 'create', [Post(), HttpCode(201), Scopes('orders:write')], [ApiKey()]);

class HealthController {
  ok() {
    return { ok: true };
  }
}
Public()(HealthController); // the global guard skips this controller
Controller('health')(HealthController);
route(HealthController, 'ok', [Get()]);

const demo = await demoKeyward(import.meta.url);
const { keyward } = demo;
class AppModule {}
Module({
  // globalGuard: ApiKeyGuard as APP_GUARD; rotation: POST /api-keys/rotate
  imports: [ApiKeyModule.forRoot({ keyward, globalGuard: true, rotation: true })],
  controllers: [OrdersController, HealthController],
})(AppModule);

const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
app.set('trust proxy', 'loopback');
app.enableShutdownHooks();
const port = Number(process.env.PORT ?? 3002);
await app.listen(port, '127.0.0.1').catch((error) => fail('Nest', port, error, demo));
await announce('Nest', port, demo);
