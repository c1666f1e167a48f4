import type { IssuedTickets } from './tickets.service.js';

/**
 * Tickets as an HTCondor submit-description fragment: each ticket in its own `environment`
 * assignment followed by `queue 1`, since a submit description applies the values in force at each
 * `queue` statement. Tickets are plain ASCII (no quotes, spaces or '$'), so they need no escaping.
 */
export function condorSubmitFragment(t: IssuedTickets): string {
  const lines = [
    `# glidekey: ${t.count} single-use glidein bootstrap ticket(s) for entry ${t.entry}, frontend ${t.frontend}`,
    `# batch ${t.batch}, valid until ${t.expiresAt}. Append below the common part of the submit description.`,
  ];
  for (const ticket of t.tickets) lines.push(`environment = "GLIDEKEY_TICKET=${ticket}"`, 'queue 1');
  return lines.join('\n') + '\n';
}
