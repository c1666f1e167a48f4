import { ApiKey } from '../auth/api-key.entity.js';
import { AuditEntry } from '../audit/audit-entry.entity.js';
import { SiteKey } from '../sites/site-key.entity.js';
import { Site } from '../sites/site.entity.js';
import { IssuedToken } from '../tokens/issued-token.entity.js';
import { MetaEntry } from './meta.entity.js';
import { CurrentToken } from '../rotation/current-token.entity.js';
import { Lease } from '../scheduler/lease.entity.js';
import { SubjectRevocation } from '../tokens/subject-revocation.entity.js';
import { SciTokenIssuer } from '../scitokens/scitoken-issuer.entity.js';
import { SciToken } from '../scitokens/scitoken.entity.js';
import { Identity } from '../identity/identity.entity.js';
import { RegisteredFrontend } from '../factory/registered-frontend.entity.js';
import { Factory } from '../forwarding/factory.entity.js';
import { FactoryEntry } from '../factory/entry.entity.js';

export const ENTITIES = [MetaEntry, ApiKey, AuditEntry, Site, SiteKey, IssuedToken, Lease, CurrentToken, SubjectRevocation, SciTokenIssuer, SciToken, Identity, RegisteredFrontend, Factory, FactoryEntry];
