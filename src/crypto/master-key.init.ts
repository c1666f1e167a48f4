import { Logger } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { DataSource } from 'typeorm';
import { Settings } from '../config/settings.js';
import { MetaFact, metaStore } from '../database/meta.store.js';
import { createMasterKey, MasterKeyError, readMasterKey } from './master-key.js';
import { Sealer } from './sealer.js';

export const MASTER_KEY_CHECK = 'master-key-check';
export const MASTER_KEY_CHECK_AD = 'meta:master-key-check';

/**
 * Loads (or on the embedded default's first start, creates) the master key and proves it is the
 * one this database's secrets were sealed with, before anything else runs.
 */
export async function initMasterKey(settings: Settings, ds: DataSource, log = new Logger('crypto')): Promise<Sealer> {
  const check = await metaStore.getFrom(ds, MASTER_KEY_CHECK);
  const path = settings.masterKeyFile;
  let key: Buffer;
  if (existsSync(path)) {
    key = readMasterKey(path);
  } else if (check) {
    throw new MasterKeyError(`master key ${path} is missing, but this database holds secrets sealed with it: restore the file from backup`);
  } else if (settings.masterKeyFileIsDefault) {
    key = createMasterKey(path);
    log.warn(`created a new master key at ${path}: back it up with the database; without it the stored keys cannot be read`);
  } else {
    throw new MasterKeyError(`masterKeyFile (GLIDEKEY_MASTER_KEY_FILE) names ${path}, which does not exist`);
  }
  const sealer = await Sealer.create(key);
  key.fill(0);
  const proof = check ?? (await insertCheck(ds, sealer));
  try {
    sealer.open(proof.value, MASTER_KEY_CHECK_AD);
  } catch {
    throw new MasterKeyError(`master key ${path} is not the key this database was sealed with`);
  }
  return sealer;
}

async function insertCheck(ds: DataSource, sealer: Sealer): Promise<MetaFact> {
  const row = { name: MASTER_KEY_CHECK, value: sealer.seal(Buffer.from('glidekey master key check'), MASTER_KEY_CHECK_AD) };
  try {
    await metaStore.insertInto(ds, row);
    return row;
  } catch {
    // A replica sharing this database wrote its check first: that one must open with our key too.
    return await metaStore.getOrFail(ds, MASTER_KEY_CHECK);
  }
}
