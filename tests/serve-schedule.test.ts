// The pure parts of serve: reading intervals and cron expressions, and which file system holds the store.
import { describe, expect, it } from 'vitest';
import { fileSystemOf } from '../src/core/environment.js';
import { cronProblem, cronSchedule, everySchedule, parseInterval } from '../src/serve/schedule.js';
import { isLoopbackHost } from '../src/serve/loopback.js';

describe('intervals and cron expressions', () => {
  it.each([
    ['30s', 30_000],
    ['15m', 900_000],
    ['15min', 900_000],
    ['12h', 43_200_000],
    ['1h30m', 5_400_000],
    ['1d', 86_400_000],
    ['1w', 604_800_000],
    [' 2H ', 7_200_000],
  ])('reads %s', (text, ms) => expect(parseInterval(text)).toBe(ms));

  it.each(['', '12', 'often', '0s', '500ms', '-1h', '1 h', '1y', '367d', '999999999d'])('refuses %j', (text) => expect(parseInterval(text)).toBeUndefined());

  it('ticks at a fixed rate from the previous due time', () => {
    const s = everySchedule(parseInterval('12h')!, '12h');
    expect(s.next(new Date('2026-12-06T10:00:00Z')).toISOString()).toBe('2026-12-06T22:00:00.000Z');
    expect(s.description).toBe('every 12h');
  });

  it('reads cron in UTC, whatever the machine time zone', () => {
    const s = cronSchedule('0 3 * * *');
    expect(s.next(new Date('2026-12-06T10:00:00Z')).toISOString()).toBe('2026-12-07T03:00:00.000Z');
    expect(s.next(new Date('2026-12-07T02:59:59Z')).toISOString()).toBe('2026-12-07T03:00:00.000Z');
  });

  it('says what is wrong with a cron expression in one line', () => {
    expect(cronProblem('0 3 * * *')).toBeUndefined();
    expect(cronProblem('61 * * * *')).toMatch(/minute/);
    expect(cronProblem('every day')).toMatch(/five, six, or seven/);
    expect(cronProblem('0 0 30 2 *')).toMatch(/never/);
  });
});

describe('where the store is', () => {
  const MOUNTINFO = [
    '22 27 0:21 / /proc rw,relatime - proc proc rw',
    '27 1 0:40 / / rw,relatime - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/A,upperdir=/x,workdir=/y',
    '31 27 254:1 / /srv/data rw,relatime - ext4 /dev/vdb rw',
    '32 27 0:50 / /srv/data\\040tmp rw,relatime - tmpfs tmpfs rw',
  ].join('\n');

  it('finds the file system of the longest mount point that holds the path', () => {
    expect(fileSystemOf('/app/backups', MOUNTINFO)).toBe('overlay'); // a container's root
    expect(fileSystemOf('/srv/data/backups', MOUNTINFO)).toBe('ext4'); // a volume mounted into it
    expect(fileSystemOf('/srv/data', MOUNTINFO)).toBe('ext4');
    expect(fileSystemOf('/srv/database', MOUNTINFO)).toBe('overlay'); // a prefix of the name is not the mount
    expect(fileSystemOf('/srv/data tmp/b', MOUNTINFO)).toBe('tmpfs'); // \040 is a space
  });
});

describe('loopback addresses', () => {
  it.each(['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]', '::ffff:127.0.0.1'])('%s is loopback', (h) => expect(isLoopbackHost(h)).toBe(true));
  it.each(['0.0.0.0', '::', '192.168.1.5', 'example.com', '128.0.0.1'])('%s is not', (h) => expect(isLoopbackHost(h)).toBe(false));
});
