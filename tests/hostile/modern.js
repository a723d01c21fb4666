class Counter {
  #n = 0;
  inc() { return ++this.#n; }
}
const c = new Counter();
c.inc();
const obj = { a: { b: null } };
const v = obj.a?.b ?? "default";
const arr = [1, 2, 3];
console.log(`node ${c.inc()} ${v} ${arr.at(-1)} ${Object.hasOwn(obj, "a")}`);
