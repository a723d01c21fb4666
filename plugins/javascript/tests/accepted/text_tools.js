const util = require("node:util");
const { StringDecoder } = require("string_decoder");
const crypto = require("crypto");

const text = `Call eval() never; new Function is evil, and so is require('fs').
Email: ada@example.com, bob@example.org. Phone 555-1234 and 555-9876.`;

const emails = text.match(/[\w.]+@[\w.]+\.\w+/g);
const phones = text.replace(/(\d{3})-(\d{4})/g, "($1) $2");
console.log(emails, phones.split("\n")[1]);
console.log(util.format("%s has %d chars", "text", text.length), util.inspect({ nested: { deep: [1, 2] } }, { depth: 0 }));
console.log(new StringDecoder("utf8").write(Buffer.from("héllo")));
console.log(crypto.createHash("sha256").update("codr").digest("hex").slice(0, 16));
const template = (strings, ...values) => strings.raw.map((s, i) => s + (values[i] ?? "")).join("");
console.log(template`a\n${1 + 1}b`, "abc".padStart(6, "*"), "Straße".normalize("NFD").length);
const words = new Intl.Segmenter("en", { granularity: "word" });
console.log([...words.segment("Hello, codr world")].filter((s) => s.isWordLike).length);
