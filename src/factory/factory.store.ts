import { EntityManager } from 'typeorm';
import { FactoryEntry } from './entry.entity.js';
import { RegisteredFrontend } from './registered-frontend.entity.js';

/** What a glidein's bootstrap needs of a factory entry (a plain shape: the entity stays in factory/). */
export interface EntryPolicy {
  name: string;
  site: string;
  glideinScitoken: boolean;
  maxPilotLifeSeconds: number | null;
}

/** The factory's tables as the factory role's other capabilities (tickets, glidein) see them; in the caller's read or transaction. */
export const factoryStore = {
  entryExists: (m: EntityManager, name: string): Promise<boolean> => m.existsBy(FactoryEntry, { name }),
  frontendRegistered: (m: EntityManager, name: string): Promise<boolean> => m.existsBy(RegisteredFrontend, { name }),
};
