// bench:flood's attacker: a flood of made-up, well-formed keys from 64 loopback addresses
// (test/support/faults/flood.mjs), in its own process so that the bench's live clients
// measure the server, not a shared event loop. Arguments: port, connections, addresses.
// Sends {"type":"started"}; on stdin close, {"type":"done","answered":N,"statuses":{…}}.
import { startFlood } from '../../test/support/faults/flood.mjs';
import { onParentMessages, tell } from './json-child.mjs';

const [port, connections, addresses] = process.argv.slice(2).map(Number);
const flood = startFlood([port], { connections, addresses, subnet: 1 });
tell({ type: 'started' });
onParentMessages(
  () => {},
  async () => {
    await flood.stop();
    tell({ type: 'done', answered: flood.answered(), statuses: Object.fromEntries(flood.statuses) });
    process.exit(0);
  },
);
