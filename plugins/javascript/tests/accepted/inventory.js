class OutOfStock extends Error {
  constructor(item) {
    super(`${item} is out of stock`);
    this.name = "OutOfStock";
    this.item = item;
  }
}

const Kind = Object.freeze({ TOOL: "tool", FOOD: "food" });

class Inventory {
  #items = new Map();

  add(name, kind, count = 1) {
    const [, old] = this.#items.get(name) ?? [kind, 0];
    this.#items.set(name, [kind, old + count]);
    return this;
  }

  take(name) {
    const [kind, count] = this.#items.get(name) ?? [null, 0];
    if (count === 0) throw new OutOfStock(name);
    this.#items.set(name, [kind, count - 1]);
    return kind;
  }

  get size() {
    let n = 0;
    for (const [, [, count]] of this.#items) n += count;
    return n;
  }

  *[Symbol.iterator]() {
    yield* [...this.#items.keys()].sort();
  }
}

const inv = new Inventory().add("hammer", Kind.TOOL).add("apple", Kind.FOOD, 3);
console.log(inv.size, inv.take("apple"), inv.take("hammer"));
try {
  inv.take("hammer");
} catch (e) {
  if (e instanceof OutOfStock) console.log(`${e.name}: ${e.message} (${e.item})`);
  else throw e;
} finally {
  console.log("left:", inv.size, [...inv]);
}
const proxy = new Proxy({}, { get: (_, prop) => `<${String(prop)}>` });
console.log(proxy.anything, Reflect.ownKeys({ a: 1, [Symbol("s")]: 2 }).length);
