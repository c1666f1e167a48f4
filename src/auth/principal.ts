/**
 * `credential-reader` is what a GlideinWMS frontend's credential generator holds: it may read the
 * SciToken meant for one entry (POST /gwms/credentials/scitoken) and nothing else.
 */
export const API_ROLES = ['frontend-admin', 'factory-admin', 'frontend', 'auditor', 'credential-reader'] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** An authenticated caller. */
export interface Principal {
  kind: 'api-key';
  id: string;
  name: string;
  roles: ApiRole[];
}

/** How a caller appears in the audit log; never a secret. */
export const actorName = (p: Principal | undefined): string => (p ? `api-key:${p.name}` : 'system');

/** The roles an admin may hand out: its own, read-only auditing, and its service's narrow roles. Nobody can escalate. */
export const GRANTABLE: Record<ApiRole, ApiRole[]> = {
  'frontend-admin': ['frontend-admin', 'auditor', 'credential-reader'],
  'factory-admin': ['factory-admin', 'frontend', 'auditor'],
  frontend: [],
  auditor: [],
  'credential-reader': [],
};

/** The admin role of each service role: the roles of the first-start admin key. */
export const ADMIN_ROLE_OF = { frontend: 'frontend-admin', factory: 'factory-admin' } as const satisfies Record<string, ApiRole>;
