// A tiny command interpreter: the words eval, exec and require('fs') appear
// only in strings, comments and property names here.
const handlers = {
  add: (a, b) => Number(a) + Number(b),
  mul: (...xs) => xs.reduce((acc, x) => acc * Number(x), 1),
  eval: () => "eval is not supported, try 'add 1 2'",
  exec: () => "exec is not supported either",
};

function run(line) {
  const [command, ...args] = line.trim().split(/\s+/);
  switch (command) {
    case "quit":
    case "exit":
      return "bye";
    default: {
      const handler = Object.hasOwn(handlers, command) ? handlers[command] : null;
      return handler ? String(handler(...args)) : `unknown command: ${JSON.stringify(command)}`;
    }
  }
}

const script = ["add 2 3", "mul 2 3 4", "eval 1+1", "exec require('fs')", "nope", "quit"];
for (const line of script) console.log(line, "=>", run(line));
const exec = handlers.exec;
console.log(exec(), handlers.eval(), typeof handlers.constructor);
