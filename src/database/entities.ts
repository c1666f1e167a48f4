import { ApiKey } from '../auth/api-key.entity.js';
import { AuditEntry } from '../audit/audit-entry.entity.js';
import { SiteKey } from '../sites/site-key.entity.js';
import { Site } from '../sites/site.entity.js';
import { IssuedToken } from '../tokens/issued-token.entity.js';
import { MetaEntry } from './meta.entity.js';
import { CurrentToken } from '../current-token/current-token.entity.js';
import { Lease } from '../jobs/lease.entity.js';
import { SubjectRevocation } from '../tokens/subject-revocation.entity.js';
import { SciTokenIssuer } from '../scitokens/scitoken-issuer.entity.js';
import { SciToken } from '../scitokens/scitoken.entity.js';
import { Identity } from '../identity/identity.entity.js';
import { RegisteredFrontend } from '../factory/registered-frontend.entity.js';
import { Factory } from '../forwarding/factory.entity.js';
import { FactoryEntry } from '../factory/entry.entity.js';
import { CachedCredential } from '../factory/cached-credential.entity.js';
import { WithdrawnCredential } from '../factory/withdrawn-credential.entity.js';
import { SeenEnvelope } from '../factory/seen-envelope.entity.js';
import { RetiredFrontendKey } from '../factory/retired-frontend-key.entity.js';
import { Delivery } from '../forwarding/delivery.entity.js';
import { SeenEntry } from '../forwarding/seen-entry.entity.js';
import { Ticket } from '../tickets/ticket.entity.js';
import { GlideinRenewal } from '../glidein/renewal.entity.js';
import { IdtokenVersion } from '../factory/idtoken-version.entity.js';

export const ENTITIES = [
  MetaEntry,
  ApiKey,
  AuditEntry,
  Site,
  SiteKey,
  IssuedToken,
  Lease,
  CurrentToken,
  SubjectRevocation,
  SciTokenIssuer,
  SciToken,
  Identity,
  RegisteredFrontend,
  Factory,
  FactoryEntry,
  Delivery,
  SeenEntry,
  CachedCredential,
  WithdrawnCredential,
  SeenEnvelope,
  RetiredFrontendKey,
  Ticket,
  GlideinRenewal,
  IdtokenVersion,
];
