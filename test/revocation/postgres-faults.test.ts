import { describe, it } from 'vitest';
import { requireBuiltCli } from '../cli/run-cli.js';
import { runFaultScenario } from './fault-scenario.js';

describe('revocation through Redis faults, on PostgreSQL (own PostgreSQL cluster and Redis, two API processes, the real CLI)', () => {
  it('every revocation is refused by every process within 1 s, whoever wrote it and whatever Redis does; live keys keep serving', async () => {
    requireBuiltCli();
    await runFaultScenario('postgres', (line) => console.log(line));
  }, 180_000);
});
