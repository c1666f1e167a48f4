/**
 * Starts the soak tests (files named *soak*) first, then the rest in Jest's own order: the
 * 10-minute renewal soak then overlaps the rest of the suite on the other workers (maxWorkers: 3)
 * instead of running alone at the end.
 */
const { basename } = require('node:path');
const Sequencer = require('@jest/test-sequencer').default;

const isSoak = (test) => basename(test.path).includes('soak');

class SoakFirst extends Sequencer {
  async sort(tests) {
    const sorted = await super.sort(tests);
    return [...sorted.filter(isSoak), ...sorted.filter((t) => !isSoak(t))];
  }
}

module.exports = SoakFirst;
