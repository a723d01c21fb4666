// The published npm Piston client, `piston-client` 1.0.2, unchanged, against
// a codr on loopback.
//
// Run by tests/e2e_clients.rs with CODR_URL set and CODR_NPM pointing at the
// folder scripts/client-libs.sh installed it into (target/clients/npm).
// piston-client sends no API key (it has no option for one), so the service
// runs with --piston-open. Prints one line per case ("ok piston-client
// <case>" or "FAIL piston-client <case>: why") and the closing line
// "N passed, N failed"; exits 1 when a case failed.
import path from "node:path";
import { pathToFileURL } from "node:url";

const entry = path.join(process.env.CODR_NPM, "node_modules/piston-client/index.js");
const { default: piston } = await import(pathToFileURL(entry).href);

const client = piston({ server: process.env.CODR_URL });
const results = [];

function check(name, ok, why) {
  results.push(ok);
  const detail = ok ? "" : `: ${typeof why === "string" ? why : JSON.stringify(why)}`;
  console.log(`${ok ? "ok" : "FAIL"} piston-client ${name}${detail}`);
}

// Reads one line of stdin, prints it with the program's first argument.
const PROGRAMS = {
  python: "import sys\nprint('hi ' + input() + sys.argv[1])\n",
  javascript:
    "const l = require('readline').createInterface({input: process.stdin});\n" +
    "l.on('line', s => { console.log('hi ' + s + process.argv[2]); l.close(); });\n",
  c:
    '#include <stdio.h>\nint main(int argc, char **argv) { char s[64];\n' +
    '  if (scanf("%63s", s) != 1) return 1; printf("hi %s%s\\n", s, argv[1]); return 0; }\n',
  cpp:
    "#include <iostream>\n#include <string>\nint main(int argc, char **argv) { std::string s;\n" +
    '  std::cin >> s; std::cout << "hi " << s << argv[1] << std::endl; }\n',
  rust:
    "fn main() { let mut s = String::new(); std::io::stdin().read_line(&mut s).unwrap();\n" +
    '  let a: Vec<String> = std::env::args().collect(); println!("hi {}{}", s.trim(), a[1]); }\n',
};

async function cases() {
  const runtimes = await client.runtimes();
  const names = new Set(Array.isArray(runtimes) ? runtimes.map((r) => r.language) : []);
  check(
    "runtimes",
    Object.keys(PROGRAMS).every((l) => names.has(l)) &&
      runtimes.every((r) => typeof r.version === "string" && Array.isArray(r.aliases)),
    runtimes,
  );

  // The client's README example: language and code only. The client asks
  // for the newest version /runtimes lists and sends its default args.
  let res = await client.execute("python", 'print("Hello World!")');
  check("readme example", res.run?.stdout === "Hello World!\n" && res.run.code === 0, res);
  res = await client.execute("javascript", "console.log(process.argv.slice(2).join(' '))");
  check("default args 1 2 3", res.run?.stdout === "1 2 3\n", res);

  for (const [language, code] of Object.entries(PROGRAMS)) {
    res = await client.execute(language, code, { stdin: "eve\n", args: ["!"] });
    check(`${language} stdin and args`, res.run?.stdout?.trim() === "hi eve!", res);
  }

  // The object form, with named files: the second is written beside the
  // program.
  res = await client.execute({
    language: "python",
    version: "*",
    files: [
      { name: "main.py", content: "import helper\nprint(helper.x)\n" },
      { name: "helper.py", content: "x = 7\n" },
    ],
  });
  check("two files", res.run?.stdout === "7\n", res);

  // What the client returns is what it shows: the run stage carries the
  // compiler's message.
  res = await client.execute("c", "int main(void) { return nope; }\n");
  check(
    "compile error shown",
    res.compile?.code !== 0 && res.run?.output?.includes("nope") && res.run.code !== 0,
    res,
  );

  res = await client.execute("python", "print('out')\nraise SystemExit(3)\n");
  check("runtime error", res.run?.code === 3 && res.run.stdout === "out\n", res);

  res = await client.execute("python", "while True:\n    pass\n", { runTimeout: 1000 });
  check("time limit", res.run?.signal === "SIGKILL" && res.run.status === "TO", res);
}

try {
  await cases();
} catch (e) {
  check("did not crash", false, String(e?.stack ?? e));
}
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
console.log(`piston-client: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
