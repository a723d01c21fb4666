// ES modules with node: builtins that are allowed, and top-level await.
import { createInterface } from "node:readline";
import { stdin as input } from "node:process";
import { EventEmitter } from "node:events";
import assert from "node:assert";

const bus = new EventEmitter();
const seen = [];
bus.on("word", (w) => seen.push(w));

const rl = createInterface({ input });
for await (const line of rl) {
  for (const word of line.split(" ")) bus.emit("word", word);
  console.log(line.split("").reverse().join(""));
}
assert.strictEqual(seen.length, 4);
console.log("words:", seen.join(","));
