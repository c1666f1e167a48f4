/** The two kinds of credential a frontend forwards and a factory caches. */
export type CredentialType = 'idtoken' | 'scitoken';
