"""Published Piston client libraries, unchanged, against a codr on loopback.

Run by tests/e2e_clients.rs with CODR_URL and CODR_KEY set and the libraries
on PYTHONPATH (installed by scripts/client-libs.sh into target/clients/py).
Prints one line per case ("ok <client> <case>" or "FAIL <client> <case>: why")
and the closing line "N passed, N failed"; exits 1 when a case failed.
"""
import asyncio
import os
import traceback

import piston_rspy
import pistonapi
import pyston

URL = os.environ["CODR_URL"].rstrip("/") + "/api/v2"
KEY = os.environ["CODR_KEY"]

# Reads one line of stdin, prints it with the program's first argument.
PROGRAMS = {
    "python": ("main.py", "print('hi ' + input())\n", []),
    "javascript": (
        "main.js",
        "const l = require('readline').createInterface({input: process.stdin});\n"
        "l.on('line', s => { console.log('hi ' + s + process.argv[2]); l.close(); });\n",
        ["!"],
    ),
    "c": (
        "main.c",
        "#include <stdio.h>\nint main(int argc, char **argv) { char s[64];\n"
        "  if (scanf(\"%63s\", s) != 1) return 1; printf(\"hi %s%s\\n\", s, argv[1]); return 0; }\n",
        ["!"],
    ),
    "cpp": (
        "main.cpp",
        "#include <iostream>\n#include <string>\nint main(int argc, char **argv) { std::string s;\n"
        "  std::cin >> s; std::cout << \"hi \" << s << argv[1] << std::endl; }\n",
        ["!"],
    ),
    "rust": (
        "main.rs",
        "fn main() { let mut s = String::new(); std::io::stdin().read_line(&mut s).unwrap();\n"
        "  let a: Vec<String> = std::env::args().collect(); println!(\"hi {}{}\", s.trim(), a[1]); }\n",
        ["!"],
    ),
}

results = []


def case(client, name, ok, why=""):
    results.append(ok)
    print(("ok " if ok else "FAIL ") + f"{client} {name}" + ("" if ok else f": {why}"), flush=True)


async def rspy():
    client = piston_rspy.Client.with_url_and_key(URL, KEY)
    runtimes = await client.fetch_runtimes()
    names = {r.language for r in runtimes}
    case("piston_rspy", "runtimes", set(PROGRAMS) <= names, names)

    async def run(language, files, stdin="", args=(), run_timeout=None):
        ex = piston_rspy.Executor().set_language(language).set_version("*")
        ex = ex.add_files([piston_rspy.File(name=n, content=c) for n, c in files])
        ex = ex.set_stdin(stdin).add_args(list(args))
        if run_timeout:
            ex = ex.set_run_timeout(run_timeout)
        return await client.execute(ex)

    for language, (name, code, args) in PROGRAMS.items():
        want = "hi eve" + ("!" if args else "")
        res = await run(language, [(name, code)], "eve\n", args)
        case("piston_rspy", f"{language} stdin and args", res.run.stdout.strip() == want, res.run.output)
    res = await run("python", [("main.py", "import helper\nprint(helper.x)\n"), ("helper.py", "x = 7\n")])
    case("piston_rspy", "two files", res.run.stdout == "7\n", res.run.output)
    res = await run("c", [("main.c", "int main(void) { return nope; }\n")])
    shown = res.compile is not None and "nope" in res.compile.output and "nope" in res.run.output
    case("piston_rspy", "compile error shown", shown and res.run.code != 0, res.run.output)
    res = await run("python", [("main.py", "print('out')\nraise SystemExit(3)\n")])
    case("piston_rspy", "runtime error", res.run.code == 3 and res.run.stdout == "out\n", res.run.output)
    res = await run("python", [("main.py", "while True:\n    pass\n")], run_timeout=1000)
    case("piston_rspy", "time limit", res.run.signal == "SIGKILL", (res.run.code, res.run.signal))


async def aiopyston():
    client = pyston.PystonClient(api_key=KEY, base_url=URL + "/")
    try:
        runtimes = await client.runtimes()
        names = {r.language for r in runtimes}
        case("aiopyston", "runtimes", set(PROGRAMS) <= names, names)
        for language, (name, code, args) in PROGRAMS.items():
            want = "hi eve" + ("!" if args else "")
            out = await client.execute(language, [pyston.File(code, name)], stdin="eve\n", args=args)
            case("aiopyston", f"{language} stdin and args", str(out).strip() == want, out.raw_json)
        out = await client.execute(
            "python",
            [pyston.File("import helper\nprint(helper.x)\n", "main.py"), pyston.File("x = 7\n", "helper.py")],
        )
        case("aiopyston", "two files", str(out) == "7\n", out.raw_json)
        out = await client.execute("c", [pyston.File("int main(void) { return nope; }\n", "main.c")])
        # Printing the result shows the run stage: the compiler's message.
        case("aiopyston", "compile error shown", "nope" in str(out), out.raw_json)
        out = await client.execute("python", [pyston.File("print('out')\nraise SystemExit(3)\n", "main.py")])
        case("aiopyston", "runtime error", out.run_stage.code == 3 and str(out) == "out\n", out.raw_json)
        out = await client.execute("python", [pyston.File("while True:\n    pass\n", "main.py")], run_timeout=1000)
        case("aiopyston", "time limit", out.run_stage.signal == "SIGKILL", out.raw_json)
    finally:
        await client.close_session()


async def pistonapi_client():
    # pistonapi sends no key and posts a form, not JSON: codr runs with
    # --piston-open for it, and answers the form as Piston does (415, in
    # Piston's error shape, which pistonapi turns into a PistonError).
    api = pistonapi.PistonAPI(endpoint=URL)
    runtimes = await asyncio.to_thread(lambda: api.runtimes)
    case("pistonapi", "runtimes", set(PROGRAMS) <= set(runtimes), runtimes)
    try:
        await asyncio.to_thread(api.execute, "python", "*", "print(1)")
        case("pistonapi", "a form body refused as Piston refuses it", False, "no error")
    except pistonapi.PistonError as e:
        case("pistonapi", "a form body refused as Piston refuses it", "json" in str(e).lower(), e)


async def main():
    for client in (rspy, aiopyston, pistonapi_client):
        try:
            await client()
        except Exception:
            case(client.__name__, "did not crash", False, traceback.format_exc())


asyncio.run(main())
passed, failed = results.count(True), results.count(False)
print(f"clients: {passed} passed, {failed} failed")
raise SystemExit(1 if failed else 0)
