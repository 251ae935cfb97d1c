// A task's symbol vocabulary: the symbols users write in their test sets ("0", "+", "(", "01234") and the
// token ids the model sees, both ways, with errors that name the unknown symbol.

export class Vocab {
  readonly symbols: readonly string[];
  private readonly ids: Map<string, number>;

  constructor(symbols: readonly string[]) {
    this.symbols = symbols;
    this.ids = new Map(symbols.map((s, i) => [s, i]));
    if (this.ids.size !== symbols.length) throw new Error(`Vocab: duplicate symbols in ${JSON.stringify(symbols)}`);
  }

  get size(): number {
    return this.symbols.length;
  }

  id(symbol: string): number {
    const i = this.ids.get(symbol);
    if (i === undefined) throw new Error(`unknown symbol ${JSON.stringify(symbol)} (known: ${this.symbols.map((s) => JSON.stringify(s)).join(' ')})`);
    return i;
  }

  has(symbol: string): boolean {
    return this.ids.has(symbol);
  }

  symbol(id: number): string {
    const s = this.symbols[id];
    if (s === undefined) throw new Error(`token id ${id} is outside the vocabulary (size ${this.size})`);
    return s;
  }

  encode(symbols: readonly string[]): Int32Array {
    return Int32Array.from(symbols, (s) => this.id(s));
  }

  decode(ids: ArrayLike<number>): string[] {
    return Array.from(ids, (i) => this.symbol(i));
  }
}
