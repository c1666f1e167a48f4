import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from './service.js';

/**
 * A real reload command for tests: a shell script in its own temp dir that appends one line per run
 * to runs.log (its arguments and whether any GLIDEKEY_* variable reached it), sleeps while a `slow`
 * file holds seconds, and exits 3 while `fail-remaining` holds a positive count (counting it down).
 */
export class ReloadScript {
  readonly dir = tempDir('reload-cmd-');
  readonly path = join(this.dir, 'reload.sh');
  readonly log = join(this.dir, 'runs.log');

  constructor() {
    writeFileSync(
      this.path,
      `#!/bin/sh
d=$(dirname "$0")
if env | grep -q '^GLIDEKEY_'; then g=glidekey-env; else g=clean-env; fi
echo "$g $*" >> "$d/runs.log"
if [ -s "$d/slow" ]; then sleep "$(cat "$d/slow")"; fi
n=$(cat "$d/fail-remaining" 2>/dev/null || echo 0)
if [ "$n" -gt 0 ]; then echo $((n - 1)) > "$d/fail-remaining"; echo "collector unreachable" >&2; exit 3; fi
exit 0
`,
    );
    chmodSync(this.path, 0o755);
  }

  /** The lines written so far. */
  runs(): string[] {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8').split('\n').filter(Boolean) : [];
  }

  failNext(n: number): void {
    writeFileSync(join(this.dir, 'fail-remaining'), `${n}\n`);
  }

  slow(seconds: number): void {
    writeFileSync(join(this.dir, 'slow'), seconds ? `${seconds}\n` : '');
  }
}
