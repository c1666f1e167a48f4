import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { DomainError } from '../common/errors.js';

/** What glidekey reads of one `<entry>` of a glideinWMS.xml (attributes as written, entities decoded). */
export interface XmlEntry {
  name: string;
  /** `<entry>` under `<entries>`; `entry_set` for an `<entry_set alias=...>` (imported as skipped). */
  kind: 'entry' | 'entry_set';
  enabled: string;
  gatekeeper: string | undefined;
  trustDomain: string;
  authMethod: string;
  /** `<attrs>`: the document's global attrs, overridden by the entry's own. */
  attrs: Map<string, string>;
}

export interface GlideinXml {
  /** `<glidein glidein_name=...>`: the factory instance (the `glidein_<instance>` of cache paths). */
  glideinName: string | null;
  /** `<submit base_client_proxies_dir=...>`: where GlideinWMS keeps the cache files. */
  clientProxiesDir: string | null;
  entries: XmlEntry[];
}

/** The entry defaults of GlideinWMS's factory_defaults.xml, for attributes an entry leaves out. */
const DEFAULTS = { enabled: 'True', trustDomain: 'grid', authMethod: 'grid_proxy' };

/**
 * One linear scan of the document outside comments and CDATA: a DOCTYPE (and so any entity
 * declaration, internal or external: the billion-laughs and XXE attacks) is refused outright, as is
 * an `&` that starts no predefined or numeric reference. glideinWMS.xml never needs either.
 * Written with indexOf, not one regular expression: a lazy `<!--[\s\S]*?-->` retried at every
 * unterminated `<!--` is quadratic (400 KB of them took 28 s, the event loop blocked throughout).
 */
const REF_AT = /^&(?:#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/;
const REF = /&(#x[0-9A-Fa-f]{1,6}|#[0-9]{1,7}|amp|lt|gt|quot|apos);/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const lineAt = (text: string, index: number) => text.slice(0, index).split('\n').length;
const malformed = (message: string, line?: number) => new DomainError('XML_MALFORMED', line ? `line ${line}: ${message}` : message, 'xml');

function scan(xml: string): void {
  let i = 0;
  let lt = xml.indexOf('<!', i);
  let amp = xml.indexOf('&', i);
  while (lt >= 0 || amp >= 0) {
    if (amp >= 0 && (lt < 0 || amp < lt)) {
      if (!REF_AT.test(xml.slice(amp, amp + 12)))
        throw malformed("'&' must start &amp;, &lt;, &gt;, &quot;, &apos; or a character reference &#...;", lineAt(xml, amp));
      i = amp + 1;
    } else if (xml.startsWith('<!--', lt) || xml.startsWith('<![CDATA[', lt)) {
      const comment = xml.startsWith('<!--', lt);
      const close = xml.indexOf(comment ? '-->' : ']]>', lt + (comment ? 4 : 9));
      if (close < 0) throw malformed(`a ${comment ? 'comment' : 'CDATA section'} is never closed`, lineAt(xml, lt));
      i = close + 3;
    } else if (/^<!(DOCTYPE|ENTITY)/i.test(xml.slice(lt, lt + 9))) {
      throw new DomainError(
        'XML_DOCTYPE',
        `line ${lineAt(xml, lt)}: a DOCTYPE or entity declaration is refused (glideinWMS.xml needs none; entities could expand without bound or read local files)`,
        'xml',
      );
    } else {
      i = lt + 2;
    }
    if (lt >= 0 && lt < i) lt = xml.indexOf('<!', i);
    if (amp >= 0 && amp < i) amp = xml.indexOf('&', i);
  }
}

/** Decodes the predefined and numeric references of an attribute value, in one pass (so `&amp;#65;` stays `&#65;`). */
function decode(value: string): string {
  return value.replace(REF, (_, ref: string) => {
    if (!ref.startsWith('#')) return NAMED[ref];
    const cp = ref[1] === 'x' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    if (cp === 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) throw malformed(`&${ref}; is not a character`);
    return String.fromCodePoint(cp);
  });
}

type Node = { $?: Record<string, string> } & Record<string, unknown>;

const ARRAYS = new Set(['entries', 'entry', 'entry_sets', 'entry_set', 'attrs', 'attr', 'submit']);
const parser = new XMLParser({
  ignoreAttributes: false,
  attributesGroupName: '$',
  attributeNamePrefix: '',
  parseAttributeValue: false,
  parseTagValue: false,
  // Entities are decoded by decode() above, after scan() has refused every declaration.
  processEntities: false,
  ignoreDeclaration: true,
  ignorePiTags: true,
  isArray: (name) => ARRAYS.has(name),
  attributeValueProcessor: (_name, value) => decode(value),
});

const children = (node: Node | undefined, name: string): Node[] =>
  (node && Array.isArray(node[name]) ? (node[name] as Node[]) : []).filter((n) => typeof n === 'object' && n !== null);
const attrsOf = (node: Node | undefined) => (node && typeof node.$ === 'object' ? node.$ : {});

function attrMap(owner: Node | undefined, inherited?: Map<string, string>): Map<string, string> {
  const out = new Map(inherited);
  for (const group of children(owner, 'attrs')) {
    for (const a of children(group, 'attr')) {
      const { name, value } = attrsOf(a);
      if (name !== undefined) out.set(name, value ?? '');
    }
  }
  return out;
}

function entryOf(node: Node, kind: XmlEntry['kind'], globals: Map<string, string>, name: string | undefined): XmlEntry {
  const a = attrsOf(node);
  return {
    name: name ?? '',
    kind,
    enabled: a.enabled ?? DEFAULTS.enabled,
    gatekeeper: a.gatekeeper,
    trustDomain: a.trust_domain ?? DEFAULTS.trustDomain,
    authMethod: a.auth_method ?? DEFAULTS.authMethod,
    attrs: attrMap(node, globals),
  };
}

/**
 * Parses a glideinWMS.xml (or one of its config.d fragments: the same `<glidein>` root) into its
 * entries. `<entries><entry name=...>` are entries; an `<entry_sets><entry_set alias=...>` is one
 * entry to GlideinWMS's frontends (named by its alias) whose sub-entries may name different CEs,
 * so it is returned as kind `entry_set` (config.d fragments may also hold plain `<entry>`
 * elements directly under `<entry_sets>`, as GlideinWMS's own fixtures do: those are entries).
 * Malformed XML is XML_MALFORMED with its line; a DOCTYPE is XML_DOCTYPE; another root XML_NOT_GLIDEINWMS.
 */
export function parseGlideinXml(xml: string): GlideinXml {
  scan(xml);
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw malformed(valid.err.msg, valid.err.line);
  let doc: Record<string, unknown>;
  try {
    doc = parser.parse(xml) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof DomainError) throw err;
    throw malformed((err as Error).message);
  }
  const roots = Object.keys(doc);
  // An empty <glidein/> parses as ''.
  const root = (doc.glidein === '' ? {} : doc.glidein) as Node | undefined;
  if (roots.length !== 1 || typeof root !== 'object' || root === null || Array.isArray(root)) {
    throw new DomainError(
      'XML_NOT_GLIDEINWMS',
      `the document's root must be one <glidein> element (a glideinWMS.xml or a config.d fragment); found ${roots.map((r) => `<${r}>`).join(', ') || 'none'}`,
      'xml',
    );
  }
  const globals = attrMap(root);
  const entries: XmlEntry[] = [];
  for (const list of children(root, 'entries')) for (const e of children(list, 'entry')) entries.push(entryOf(e, 'entry', globals, attrsOf(e).name));
  for (const sets of children(root, 'entry_sets')) {
    for (const s of children(sets, 'entry_set')) entries.push(entryOf(s, 'entry_set', globals, attrsOf(s).alias));
    for (const e of children(sets, 'entry')) entries.push(entryOf(e, 'entry', globals, attrsOf(e).name));
  }
  const submit = children(root, 'submit')[0];
  return { glideinName: attrsOf(root).glidein_name ?? null, clientProxiesDir: attrsOf(submit).base_client_proxies_dir ?? null, entries };
}
