// A small XML well-formedness checker (tag stack, attribute quoting, entities) used to verify the SVG
// files that `lrnn compare` and the stability report write. Not a general XML parser: no DTDs, no CDATA.
// Test-only: src/eval/plot_svg.test.ts and compare.test.ts use it.

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  /** Text directly inside the element (entities decoded). */
  text: string;
  children: XmlElement[];
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

const isNameChar = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c === '-' || c === '_' || c === ':' || c === '.';
const isSpace = (c: string) => c === ' ' || c === '\n' || c === '\t' || c === '\r';

/** Parses `xml`, throwing an error with the character offset on the first well-formedness problem. */
export function parseXml(xml: string): XmlElement {
  let i = 0;
  const fail = (msg: string): never => {
    throw new Error(`XML not well-formed at offset ${i}: ${msg}`);
  };
  const decode = (s: string): string => {
    let out = '';
    for (let k = 0; k < s.length; ++k) {
      const c = s[k]!;
      if (c === '<') fail('raw < in text or attribute');
      if (c !== '&') { out += c; continue; }
      const end = s.indexOf(';', k);
      if (end < 0) fail(`unterminated entity in '${s.slice(k, k + 10)}'`);
      const name = s.slice(k + 1, end);
      if (name.startsWith('#x')) out += String.fromCodePoint(parseInt(name.slice(2), 16));
      else if (name.startsWith('#')) out += String.fromCodePoint(parseInt(name.slice(1), 10));
      else if (ENTITIES[name] !== undefined) out += ENTITIES[name];
      else fail(`unknown entity &${name};`);
      k = end;
    }
    return out;
  };
  const readName = (): string => {
    const s = i;
    while (i < xml.length && isNameChar(xml[i]!)) ++i;
    if (i === s) fail(`expected a name, found '${xml[i] ?? 'end of input'}'`);
    return xml.slice(s, i);
  };
  const skipSpace = () => { while (i < xml.length && isSpace(xml[i]!)) ++i; };

  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  while (i < xml.length) {
    if (xml.startsWith('<?', i)) {
      const e = xml.indexOf('?>', i);
      if (e < 0) fail('unterminated <?');
      i = e + 2;
    } else if (xml.startsWith('<!--', i)) {
      const e = xml.indexOf('-->', i);
      if (e < 0) fail('unterminated comment');
      i = e + 3;
    } else if (xml.startsWith('</', i)) {
      i += 2;
      const name = readName();
      skipSpace();
      if (xml[i] !== '>') fail(`expected '>' to close </${name}`);
      ++i;
      const top = stack.pop();
      if (!top) fail(`closing tag </${name}> with nothing open`);
      if (top!.name !== name) fail(`closing tag </${name}> does not match <${top!.name}>`);
    } else if (xml[i] === '<') {
      ++i;
      const el: XmlElement = { name: readName(), attrs: {}, text: '', children: [] };
      for (;;) {
        const before = i;
        skipSpace();
        if (xml.startsWith('/>', i)) { i += 2; break; }
        if (xml[i] === '>') { ++i; stack.push(el); break; }
        if (i === before) fail(`expected space, '>' or '/>' in <${el.name}>`);
        const an = readName();
        skipSpace();
        if (xml[i] !== '=') fail(`attribute ${an} of <${el.name}> has no value`);
        ++i;
        skipSpace();
        const q = xml[i];
        if (q !== '"' && q !== "'") fail(`attribute ${an} of <${el.name}> is not quoted`);
        const e = xml.indexOf(q!, i + 1);
        if (e < 0) fail(`unterminated attribute ${an}`);
        if (an in el.attrs) fail(`duplicate attribute ${an} in <${el.name}>`);
        el.attrs[an] = decode(xml.slice(i + 1, e));
        i = e + 1;
      }
      const parent = stack[stack.length - (stack[stack.length - 1] === el ? 2 : 1)];
      if (parent) parent.children.push(el);
      else if (root) fail(`second root element <${el.name}>`);
      else root = el;
    } else {
      const e = xml.indexOf('<', i);
      const text = xml.slice(i, e < 0 ? xml.length : e);
      const top = stack[stack.length - 1];
      if (top) top.text += decode(text);
      else if (text.trim()) fail(`text outside the root element: '${text.trim().slice(0, 20)}'`);
      i = e < 0 ? xml.length : e;
    }
  }
  if (stack.length) fail(`unclosed <${stack[stack.length - 1]!.name}>`);
  if (!root) fail('no root element');
  return root!;
}

/** All elements named `name` in document order. */
export function findAll(el: XmlElement, name: string, out: XmlElement[] = []): XmlElement[] {
  if (el.name === name) out.push(el);
  for (const c of el.children) findAll(c, name, out);
  return out;
}
