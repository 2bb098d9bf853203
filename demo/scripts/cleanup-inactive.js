// A "risky script" for the demo: deletes customers inactive since a cutoff date, and their orders.
// Usage: node cleanup-inactive.js <database> <cutoff YYYY-MM-DD>
import Database from 'better-sqlite3';

const [file, cutoff] = process.argv.slice(2);
if (!file || !/^\d{4}-\d{2}-\d{2}$/.test(cutoff ?? '')) {
  console.error('usage: cleanup-inactive.js <database> <cutoff YYYY-MM-DD>');
  process.exit(2);
}
const db = new Database(file, { fileMustExist: true });
const result = db.transaction(() => {
  const orders = db
    .prepare('DELETE FROM orders WHERE customer_id IN (SELECT id FROM customers WHERE last_order_at < ?)')
    .run(cutoff).changes;
  const customers = db.prepare('DELETE FROM customers WHERE last_order_at < ?').run(cutoff).changes;
  return { customers, orders };
})();
console.log(`cleanup: removed ${result.customers} customers and ${result.orders} orders inactive since ${cutoff}`);
db.close();
