import { DataSource, EntityManager } from 'typeorm';
import { MetaEntry } from './meta.entity.js';

/** A fact of glidekey_meta (name, value): what other folders see of that table. */
export interface MetaFact {
  name: string;
  value: string;
}

/**
 * The glidekey_meta table's small API: reading one fact, and inserting one (a plain INSERT: a
 * concurrent writer of the same name makes it fail, as before). The entity stays in database/.
 */
export const metaStore = {
  /** The fact named `name`, through `m` (a read or a transaction), or null. */
  async get(m: EntityManager, name: string): Promise<MetaFact | null> {
    return m.findOneBy(MetaEntry, { name });
  },
  /** The same read straight on a data source (startup, before Db exists). */
  async getFrom(ds: DataSource, name: string): Promise<MetaFact | null> {
    return ds.getRepository(MetaEntry).findOneBy({ name });
  },
  /** Inserts a fact on a data source; throws if one of that name exists. */
  async insertInto(ds: DataSource, fact: MetaFact): Promise<void> {
    await ds.getRepository(MetaEntry).insert(fact);
  },
  /** The named fact on a data source, or a thrown error when there is none. */
  async getOrFail(ds: DataSource, name: string): Promise<MetaFact> {
    return ds.getRepository(MetaEntry).findOneByOrFail({ name });
  },
};
