import { FakeClock } from '../../test/support/app.js';
import { loadConfig } from '../config/config.loader.js';
import { Settings } from '../config/settings.js';
import { FailureLimiter, keyOf, MAX_TRACKED } from './failure-limiter.js';

describe(FailureLimiter.name, () => {
  const make = (limit = 3, window = 60) => {
    const clock = new FakeClock();
    const settings = new Settings(loadConfig({ GLIDEKEY_TICKETS_FAILURE_LIMIT: String(limit), GLIDEKEY_TICKETS_FAILURE_WINDOW_SECONDS: String(window) }));
    return { clock, limiter: new FailureLimiter(clock, settings) };
  };

  it('lets limit failures pass, then asks for the rest of the window', () => {
    const { clock, limiter } = make();
    expect([limiter.fail('192.0.2.1'), limiter.fail('192.0.2.1'), limiter.fail('192.0.2.1')]).toEqual([0, 0, 0]);
    expect(limiter.fail('192.0.2.1')).toBe(60);
    expect(limiter.fail('192.0.2.2')).toBe(0);
    clock.advance(45);
    expect(limiter.fail('192.0.2.1')).toBe(15);
    clock.advance(15);
    expect(limiter.fail('192.0.2.1')).toBe(0);
  });

  it('admits lookups until over the limit, then only limitedLookupsPerSecond a clock second, until the window ends', () => {
    const clock = new FakeClock();
    const settings = new Settings(loadConfig({ GLIDEKEY_TICKETS_FAILURE_LIMIT: '2', GLIDEKEY_TICKETS_LIMITED_LOOKUPS_PER_SECOND: '2' }));
    const limiter = new FailureLimiter(clock, settings);
    const a = '192.0.2.9';
    expect(limiter.admit(a)).toBe(0);
    for (let i = 0; i < 3; i++) limiter.fail(a);
    expect([limiter.admit(a), limiter.admit(a), limiter.admit(a), limiter.admit(a)]).toEqual([0, 0, 60, 60]);
    expect(limiter.admit('192.0.2.10')).toBe(0);
    clock.advance(1);
    expect([limiter.admit(a), limiter.admit(a), limiter.admit(a)]).toEqual([0, 0, 59]);
    clock.advance(59);
    expect([limiter.admit(a), limiter.admit(a), limiter.admit(a)]).toEqual([0, 0, 0]);
  });

  it('counts an IPv6 /64 as one address, and an IPv4-mapped address as its IPv4 one', () => {
    expect(keyOf('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    expect(keyOf('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64');
    expect(keyOf('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(keyOf('::1')).toBe('0:0:0:0::/64');
    expect(keyOf('::ffff:192.0.2.7')).toBe('192.0.2.7');
    expect(keyOf('192.0.2.7')).toBe('192.0.2.7');
    const { limiter } = make(1);
    limiter.fail('2001:db8:1:2::a');
    expect(limiter.fail('2001:db8:1:2::b')).toBeGreaterThan(0);
  });

  it('never tracks more than MAX_TRACKED addresses, dropping ended windows first, then the oldest', () => {
    const { clock, limiter } = make(1, 60);
    for (let i = 0; i < MAX_TRACKED; i++) limiter.fail(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(limiter.tracked).toBe(MAX_TRACKED);
    limiter.fail('198.51.100.1');
    expect(limiter.tracked).toBe(MAX_TRACKED);
    // The oldest (10.0.0.0) was dropped to make room: it starts over.
    expect(limiter.fail('10.0.0.0')).toBe(0);
    expect(limiter.fail('10.0.0.5')).toBeGreaterThan(0);
    clock.advance(60);
    limiter.fail('198.51.100.2');
    expect(limiter.tracked).toBeLessThan(10);
  });
});
