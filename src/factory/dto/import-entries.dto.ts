import { ArrayMaxSize, IsArray, IsBoolean, IsOptional, IsString, MaxLength } from 'class-validator';

/** The most XML one import takes (the route's body limit is a little above it: the JSON escapes it). */
export const MAX_IMPORT_XML = 8 * 1024 * 1024;

export class ImportEntriesDto {
  /** The glideinWMS.xml, as the file holds it. */
  @IsString() @MaxLength(MAX_IMPORT_XML) xml!: string;

  /** Its config.d/*.xml fragments (GlideinWMS merges them, in name order): their entries are imported too. */
  @IsOptional() @IsArray() @ArrayMaxSize(1000) @IsString({ each: true }) @MaxLength(MAX_IMPORT_XML, { each: true }) configD?: string[];

  /** Compute and answer what would change; change nothing. */
  @IsOptional() @IsBoolean() dryRun?: boolean;

  /** Also delete the entries the XML does not define (or disables), with their cached credentials. Default false: they are kept. */
  @IsOptional() @IsBoolean() prune?: boolean;
}
