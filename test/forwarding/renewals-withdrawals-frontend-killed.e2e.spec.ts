import { lifecycleFailures } from '../support/lifecycle-failures.js';

// Issue 12: replacements and withdrawals when the frontend is SIGKILLed right after the change (see the suite).
lifecycleFailures('frontend-killed');
