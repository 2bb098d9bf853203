// diffDatabases: schema and rows changed by a script, between a clone taken before it and the live database.
import { expect, test } from 'vitest';
import { backupDatabase, diffDatabases } from '../../src/engines/postgres/index.js';
import { createDb, dropDbs, SAMPLE_SCHEMA, sql, targetOf, cleanups } from './pg-test-db.js';

test('reports schema changes and rows inserted, deleted and updated, by key or by content', async () => {
  const db = await createDb(`${SAMPLE_SCHEMA}
    CREATE TABLE prices (code text PRIMARY KEY, amount numeric, tag text COLLATE "C");
    INSERT INTO prices VALUES ('a', 1.0, 'x'), ('B', 2, 'y'), ('Z', 3, 'z'), ('é', 4, 'w'), ('ab', 5, 'v');
    CREATE TABLE doomed (id int PRIMARY KEY);`);
  cleanups.push(() => dropDbs(db));
  const backup = await backupDatabase(targetOf(db), 'clone', { backupId: `d${Date.now()}`, dumpFile: '/nonexistent' });
  if (backup.strategy !== 'clone') throw new Error('expected a clone');
  cleanups.push(() => dropDbs(backup.database));

  await sql(db, `
    UPDATE accounts SET balance = balance + 1 WHERE id IN (5, 150, 7);
    DELETE FROM notes WHERE account_id IN (3, 4);
    DELETE FROM accounts WHERE id IN (3, 4);
    INSERT INTO accounts (id, owner, balance) VALUES (1000, 'late', 5);
    DELETE FROM notes WHERE ctid = (SELECT min(ctid) FROM notes WHERE body = 'same');
    INSERT INTO notes VALUES (1, 'new note');
    UPDATE prices SET amount = 1.00 WHERE code = 'a';  -- equal by =, different as text
    INSERT INTO prices VALUES ('b', 9, 'u');
    ALTER TABLE accounts ADD COLUMN email text;
    DROP INDEX notes_body; CREATE INDEX notes_account ON notes (account_id);
    DROP TABLE doomed; CREATE TABLE fresh (x int);`);

  const diff = await diffDatabases(targetOf(backup.database), targetOf(db), { batch: 7 });
  expect(diff.schema.tablesAdded).toEqual(['public.fresh']);
  expect(diff.schema.tablesDropped).toEqual(['public.doomed']);
  expect(diff.schema.changes).toEqual([
    { table: 'public.accounts', kind: 'column', change: 'added', detail: 'email text' },
    { table: 'public.notes', kind: 'index', change: 'dropped', detail: 'CREATE INDEX notes_body ON public.notes USING btree (body)' },
    { table: 'public.notes', kind: 'index', change: 'added', detail: 'CREATE INDEX notes_account ON public.notes USING btree (account_id)' },
  ]);
  const byTable = Object.fromEntries(diff.tables.map((t) => [t.table, t]));
  expect(byTable['public.accounts']).toMatchObject({ matchedBy: 'primary key', inserted: 1, deleted: 2, updated: 3 });
  expect(byTable['public.accounts']!.samples).toEqual({ inserted: ['(1000)'], deleted: ['(3)', '(4)'], updated: ['(5)', '(7)', '(150)'] });
  // The notes of accounts 3 and 4 went, and one of two identical rows: counted as content, not by key.
  const [gone] = await sql<{ n: number }>(backup.database, `SELECT count(*)::int AS n FROM notes WHERE account_id IN (3, 4)`);
  expect(byTable['public.notes']).toMatchObject({ matchedBy: 'row content', inserted: 1, deleted: gone!.n + 1, updated: 0 });
  expect(byTable['public.prices']).toMatchObject({ matchedBy: 'primary key', inserted: 1, deleted: 0, updated: 1 });
  expect(byTable['public.prices']!.samples.updated).toEqual(['(a)']);
  expect(diff.unchanged).toEqual([]);
});

test('two identical databases have no differences', async () => {
  const db = await createDb(SAMPLE_SCHEMA);
  cleanups.push(() => dropDbs(db));
  const diff = await diffDatabases(targetOf(db), targetOf(db), { batch: 50 });
  expect(diff).toEqual({ schema: { tablesAdded: [], tablesDropped: [], changes: [] }, tables: [], unchanged: ['public.accounts', 'public.notes'] });
});
