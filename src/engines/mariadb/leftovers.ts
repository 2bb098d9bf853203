// Find and drop the schemas a killed safe-run left behind (a half-made shadow copy, a staged restore, a
// scratch load), never one whose owner connection is still alive, never a kept backup or replaced tables.
import { ident, rowsOf, withServer } from './connect.js';
import { KEPT_MARK, ownerLock, SCHEMA_PREFIX } from './owned-schema.js';
import { tryLock } from './lock.js';
import type { MyTarget } from './url.js';

export async function removeLeftovers(t: MyTarget): Promise<string[]> {
  return withServer(t, async (c) => {
    const schemas = await rowsOf<{ n: string; m: string | null }>(
      c,
      `SELECT SCHEMA_NAME AS n, SCHEMA_COMMENT AS m FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'safe\\_run\\_%' ORDER BY 1`,
    );
    const dropped: string[] = [];
    for (const { n, m } of schemas) {
      if (!n.startsWith(SCHEMA_PREFIX) || n.startsWith(`${SCHEMA_PREFIX}old_`) || !m || m.startsWith(KEPT_MARK) || !m.startsWith('safe-run: partial')) continue;
      // Holding the owner lock while dropping: nobody can be building it in between.
      if (!(await tryLock(c, ownerLock(n)))) continue;
      await c.query(`DROP DATABASE IF EXISTS ${ident(n)}`);
      await c.query('DO RELEASE_LOCK(?)', [ownerLock(n)]);
      dropped.push(n);
    }
    return dropped;
  }, { stage: 'leftovers' });
}
