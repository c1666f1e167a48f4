import { lifecycleFailures } from '../support/lifecycle-failures.js';

// Issue 12: replacements and withdrawals while the factory is down during the change (see the suite).
lifecycleFailures('factory-down');
