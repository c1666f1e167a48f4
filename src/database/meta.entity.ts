import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Small key/value facts about this database (the master-key check value, the instance identity). */
@Entity('glidekey_meta')
export class MetaEntry {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'text' })
  value!: string;
}
