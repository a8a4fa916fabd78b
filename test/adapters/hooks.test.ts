// The onError hooks and option validation of each adapter (the scenario list covers the default responses).
import 'reflect-metadata';
import { createKeyward, type Keyward } from '@keyward/core';
import { apiKeyAuth as expressAuth, requireScopes as expressScopes } from '@keyward/express';
import { apiKeyAuth as koaAuth } from '@keyward/koa';
import { ApiKeyModule } from '@keyward/nest';
import { SqliteStore } from '@keyward/sqlite';
import { Controller, Get, HttpException, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let keyward: Keyward;
beforeAll(() => {
  keyward = createKeyward({ store: new SqliteStore({ path: ':memory:' }) });
});
afterAll(async () => {
  await keyward.close();
  await keyward.store.close();
});

describe('onError hooks', () => {
  it('express: next(error) reaches Express error handling with status and headers from the error', async () => {
    const app = express();
    app.use(expressAuth({ keyward, onError: (error, _req, _res, next) => next(error) }));
    const res = await request(app).get('/x');
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
  });

  it('koa: a thrown error keeps its headers through Koa’s own error handler', async () => {
    const app = new Koa();
    app.on('error', () => {});
    app.use(
      koaAuth({
        keyward,
        realm: 'shop',
        onError: (error) => {
          throw error;
        },
      }),
    );
    const res = await request(app.callback()).get('/x').set('Authorization', 'Bearer ');
    expect(res.status).toBe(400);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="shop", error="invalid_request"');
  });

  it('nest: a hook may throw its own exception', async () => {
    @Controller('x')
    class X {
      @Get()
      get() {
        return 'no';
      }
    }
    @Module({
      imports: [
        ApiKeyModule.forRootAsync({
          useFactory: () => ({
            keyward,
            onError: () => {
              throw new HttpException({ custom: true }, 418);
            },
          }),
          globalGuard: true,
        }),
      ],
      controllers: [X],
    })
    class AppModule {}
    const app = (await Test.createTestingModule({ imports: [AppModule] }).compile()).createNestApplication({ logger: false });
    await app.init();
    const res = await request(app.getHttpServer()).get('/x');
    expect(res.status).toBe(418);
    expect(res.body).toEqual({ custom: true });
    expect(res.headers['www-authenticate']).toBe('Bearer realm="api"');
    await app.close();
  });
});

describe('options', () => {
  it('are validated with the package name, option and value', () => {
    expect(() => expressAuth({ keyward, realm: 1 as never })).toThrow(/@keyward\/express: option "realm" .*got 1/);
    expect(() => koaAuth({ keyward, header: 'bad header' })).toThrow(/@keyward\/koa: option "header"/);
    expect(() => expressAuth({ keyward, onError: 'x' as never })).toThrow(/@keyward\/express: option "onError"/);
    expect(() => expressScopes()).toThrow(/requireScopes/);
    expect(() => ApiKeyModule.forRootAsync({} as never)).toThrow(/@keyward\/nest: option "useFactory"/);
  });

  it('are never mutated', () => {
    const options = Object.freeze({ keyward, scopes: Object.freeze(['a']), header: 'X-Key', onError: () => {} });
    expressAuth(options);
    koaAuth(options);
    expect(options).toEqual({ keyward, scopes: ['a'], header: 'X-Key', onError: expect.any(Function) });
  });
});
