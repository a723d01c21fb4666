// Reads lines with readline and answers each one: the usual interactive shape.
const readline = require("readline");

const rl = readline.createInterface({ input: process.stdin, terminal: false });
const lines = [];
rl.on("line", (line) => lines.push(line.trim()));
rl.on("close", () => {
  const [name, times] = lines;
  for (let i = 1; i <= Number(times); i++) {
    console.log(`${i}: Hello, ${name}!`);
  }
});
