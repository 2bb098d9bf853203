// doctor through the engine seam: an engine without live checks is named as unchecked, not a crash.
import { describe, expect, it } from 'vitest';
import { examineDatabases } from '../src/core/doctor.js';
import { registerEngine } from '../src/engines/all.js';
import type { Engine } from '../src/engines/engine.js';

describe('safe-run doctor and engines', () => {
  it('says it does not check an engine that cannot check live databases yet, rather than failing', async () => {
    // A server engine of the future: everything but checkLive and setAside (only what doctor touches is real).
    registerEngine({
      kind: 'future',
      schemes: ['future'],
      parse: (url) => ({ location: url, defaultName: 'srv' }),
      open: async (name, url) => ({ kind: 'future', name, location: url, capabilities: { diff: false, restoreWhileOpen: false, serverSideClone: true } }) as unknown as Engine,
      reopen: async () => {
        throw new Error('not used');
      },
    });
    const [examined] = await examineDatabases([{ name: 'srv', url: 'future://db.example/shop' }]);
    expect(examined!.finding).toEqual({
      database: 'srv',
      engine: 'future',
      location: 'future://db.example/shop',
      state: 'unchecked',
      problems: ['doctor does not check future databases yet'],
    });
  });
});
