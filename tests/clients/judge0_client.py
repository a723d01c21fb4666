"""The official Judge0 Python SDK, unchanged, and raw Judge0 HTTP requests,
against a codr on loopback.

Run by tests/e2e_judge0.rs with CODR_URL and CODR_KEY set and the SDK on
PYTHONPATH (installed by scripts/client-libs.sh into target/clients/py),
against a codr started with --judge0-callback-hosts 127.0.0.1 (the callback
cases listen on 127.0.0.1).
Prints one line per case ("ok <case>" or "FAIL <case>: why") and the
closing line "judge0: N passed, N failed"; exits 1 when a case failed.
"""
import base64
import io
import json
import os
import threading
import time
import traceback
import zipfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import judge0
from judge0 import Status

URL = os.environ["CODR_URL"].rstrip("/")
KEY = os.environ["CODR_KEY"]
AUTH = {"X-Auth-Token": KEY}

results = []


def case(name, ok, why=""):
    results.append(bool(ok))
    print(("ok " if ok else "FAIL ") + name + ("" if ok else f": {why}"), flush=True)


def attempt(name, fn):
    try:
        fn()
    except Exception:
        case(name, False, traceback.format_exc())


def b64(text):
    return base64.b64encode(text.encode()).decode()


def unb64(text):
    return base64.b64decode(text).decode() if text is not None else None


# --- the SDK -----------------------------------------------------------------

client = None


def run(**kwargs):
    # A fresh wait budget per run: the SDK's strategies count across calls.
    client.retry_strategy = judge0.MaxWaitTime(max_wait_time_sec=90)
    return judge0.run(client=client, **kwargs)


def sdk_client():
    global client
    client = judge0.Client(URL, headers=dict(AUTH))
    ids = {lang.id for lang in client.languages}
    want = {50, 52, 54, 62, 63, 71, 73}
    case("sdk: client built from /languages and /config_info", want <= ids, sorted(ids))
    case("sdk: version", client.version == "1.13.1", client.version)
    statuses = client.get_statuses()
    case("sdk: 14 statuses", [s["id"] for s in statuses] == list(range(1, 15)), statuses)
    lang = client.get_language(71)
    case("sdk: language 71 is Python", lang.name.startswith("Python ("), lang)
    case("sdk: batch size from config", client.config.max_submission_batch_size == 20, client.config)


def sdk_python_stdin():
    s = run(source_code="print('hi ' + input())", stdin="eve", language=judge0.PYTHON)
    case("sdk: python with stdin accepted", s.status == Status.ACCEPTED and s.stdout == "hi eve\n",
         (s.status, s.stdout, s.stderr))
    case("sdk: times in seconds, memory in KB",
         s.time is not None and 0 <= s.time < 10 and s.wall_time is not None and s.memory and s.memory > 100,
         (s.time, s.wall_time, s.memory))
    case("sdk: token and dates", s.token is not None and s.created_at is not None
         and s.finished_at is not None and s.finished_at >= s.created_at, (s.token, s.created_at, s.finished_at))


def sdk_c_compile_error():
    s = run(source_code="int main(void) { return nope; }\n", language=judge0.C)
    case("sdk: C compile error is 6 with the compiler's message",
         s.status == Status.COMPILATION_ERROR and "nope" in (s.compile_output or "") and s.stdout is None,
         (s.status, s.compile_output))


def sdk_python_exception():
    s = run(source_code="print('before')\nraise ValueError('boom')\n", language=judge0.PYTHON)
    case("sdk: python exception is 11 with stderr",
         s.status == Status.RUNTIME_ERROR_NZEC and "ValueError: boom" in (s.stderr or "")
         and s.stdout == "before\n" and s.exit_code == 1, (s.status, s.stderr, s.exit_code))


def sdk_cpp_wrong_answer():
    code = "#include <iostream>\nint main() { std::cout << 41 << std::endl; }\n"
    s = run(source_code=code, language=judge0.CPP, expected_output="42")
    case("sdk: C++ wrong expected_output is 4", s.status == Status.WRONG_ANSWER and s.stdout == "41\n",
         (s.status, s.stdout, s.compile_output))


def sdk_rust_right_answer():
    code = "fn main() { let mut s = String::new(); std::io::stdin().read_line(&mut s).unwrap();\n" \
           "  let n: i32 = s.trim().parse().unwrap(); println!(\"{}\", n * 2); }\n"
    s = run(source_code=code, language=judge0.RUST, stdin="21\n", expected_output="42\n\n")
    case("sdk: Rust right expected_output is 3", s.status == Status.ACCEPTED and s.stdout == "42\n",
         (s.status, s.stdout, s.compile_output))


def sdk_javascript():
    code = "const l = require('readline').createInterface({input: process.stdin});\n" \
           "l.on('line', s => { console.log(s.toUpperCase()); l.close(); });\n"
    s = run(source_code=code, language=judge0.JAVASCRIPT, stdin="shout\n")
    case("sdk: JavaScript", s.status == Status.ACCEPTED and s.stdout == "SHOUT\n", (s.status, s.stdout, s.stderr))


def sdk_time_limit():
    s = run(source_code="while True:\n    pass\n", language=judge0.PYTHON, cpu_time_limit=1, wall_time_limit=3)
    case("sdk: time limit is 5", s.status == Status.TIME_LIMIT_EXCEEDED, (s.status, s.message, s.time))


def sdk_batch_of_three():
    subs = [
        judge0.Submission(source_code="print(6 * 7)", language=judge0.PYTHON, expected_output="42"),
        judge0.Submission(source_code="console.log(6 * 7)", language=judge0.JAVASCRIPT, expected_output="43"),
        judge0.Submission(source_code="#include <stdio.h>\nint main(void) { printf(\"%d\\n\", 6 * 7); }\n",
                          language=judge0.C),
    ]
    done = run(submissions=subs)
    got = [(s.status, s.stdout) for s in done]
    want = [(Status.ACCEPTED, "42\n"), (Status.WRONG_ANSWER, "42\n"), (Status.ACCEPTED, "42\n")]
    case("sdk: a batch of three", got == want and len({s.token for s in done}) == 3, got)


def sdk_test_cases():
    done = run(source_code="print(int(input()) + 1)", language=judge0.PYTHON,
               test_cases=[("1", "2"), ("5", "7")])
    got = [s.status for s in done]
    case("sdk: test cases", got == [Status.ACCEPTED, Status.WRONG_ANSWER], got)


def sdk_additional_files():
    # The SDK zips the files and sends them in Base64, as Judge0 expects.
    fs = judge0.Filesystem(content=[judge0.File(name="data.txt", content="21\n"),
                                    judge0.File(name="more/half.txt", content="0.5\n")])
    code = "n = int(open('data.txt').read())\nh = float(open('more/half.txt').read())\nprint(int(n * 2 * h * 2))\n"
    s = run(source_code=code, language=judge0.PYTHON, additional_files=fs)
    case("sdk: python reads data files from additional_files", s.status == Status.ACCEPTED and s.stdout == "42\n",
         (s.status, s.stdout, s.stderr, s.compile_output, s.message))


# --- raw HTTP ----------------------------------------------------------------

http = httpx.Client(base_url=URL, headers=AUTH, timeout=120)


def post(body, **params):
    return http.post("/submissions", params=params, json=body)


def poll(token, **params):
    for _ in range(600):
        r = http.get(f"/submissions/{token}", params=params)
        body = r.json()
        if body["status"]["id"] not in (1, 2):
            return r, body
        time.sleep(0.1)
    raise AssertionError(f"{token} never finished")


def raw_base64():
    body = {"source_code": b64("print(input()[::-1])"), "language_id": 71, "stdin": b64("abc")}
    r = post(body, base64_encoded="true", wait="true")
    got = r.json()
    case("raw: base64_encoded in and out",
         r.status_code == 201 and got["status"]["id"] == 3 and unb64(got["stdout"]) == "cba\n", (r.status_code, got))
    r = http.get(f"/submissions/{got['token']}")
    case("raw: plain text when not asked for base64", r.json().get("stdout") == "cba\n", r.json())


def raw_fields_and_polling():
    r = post({"source_code": "import time\ntime.sleep(0.5)\nprint('late')", "language_id": 71})
    first = r.json()
    case("raw: wait=false answers the token alone", r.status_code == 201 and list(first) == ["token"], first)
    token = first["token"]
    early = http.get(f"/submissions/{token}").json()
    case("raw: in queue or processing before the end", early["status"]["id"] in (1, 2), early)
    _, done = poll(token)
    case("raw: polled to the end", done["status"]["id"] == 3 and done["stdout"] == "late\n", done)
    r = http.get(f"/submissions/{token}", params={"fields": "stdout,status_id,language_id"})
    case("raw: fields", r.json() == {"stdout": "late\n", "status_id": 3, "language_id": 71}, r.json())
    r = http.get(f"/submissions/{token}", params={"fields": "stdout,nope"})
    case("raw: unknown fields are a 400", r.status_code == 400 and r.json() == {"error": "invalid fields: [nope]"},
         (r.status_code, r.text))
    r = http.get("/submissions/batch", params={"tokens": f"{token},no-such-token", "fields": "token,status_id"})
    case("raw: batch read with an unknown token",
         r.json() == {"submissions": [{"token": token, "status_id": 3}, None]}, r.text)


def raw_invalid_input():
    r = post({"source_code": "print(1)", "language_id": 150000})
    case("raw: unknown language id is a 422 naming it",
         r.status_code == 422 and r.json() == {"language_id": ["language with id 150000 doesn't exist"]}, r.text)
    r = post({"source_code": "%%% not base64", "language_id": 71}, base64_encoded="true")
    case("raw: bad base64 is a 422 naming the field",
         r.status_code == 422 and list(r.json()) == ["source_code"], (r.status_code, r.text))
    r = post({"source_code": "print(1)", "language_id": 71, "wall_time_limit": 1000, "memory_limit": 1 << 30})
    errors = r.json()
    case("raw: limits above the maximum are a 422 naming each field",
         r.status_code == 422 and set(errors) == {"wall_time_limit", "memory_limit"}
         and errors["wall_time_limit"][0].startswith("must be less than or equal to"), (r.status_code, r.text))
    r = post({"source_code": "print(1)", "language_id": 71, "enable_network": True})
    case("raw: enable_network is refused", r.status_code == 422 and "enable_network" in r.json(), r.text)
    r = post({"language_id": 71})
    case("raw: missing source_code", r.json() == {"source_code": ["can't be blank"]}, r.text)


def raw_auth():
    r = httpx.post(URL + "/submissions", json={"source_code": "print(1)", "language_id": 71})
    case("raw: no key is a bare 401", r.status_code == 401 and r.content == b"", (r.status_code, r.text))
    r = httpx.get(URL + "/submissions/x", headers={"X-Auth-Token": "wrong"})
    case("raw: a wrong key is a 401", r.status_code == 401, r.status_code)
    r = httpx.post(URL + "/submissions", params={"wait": "true"}, headers={"X-API-Key": KEY},
                   json={"source_code": "print(1)", "language_id": 71})
    case("raw: codr's X-API-Key works too", r.status_code == 201 and r.json()["stdout"] == "1\n", r.text)
    r = http.get("/submissions/no-such-token")
    case("raw: an unknown token is a 404", r.status_code == 404, r.status_code)


def raw_batch_with_an_invalid_item():
    r = http.post("/submissions/batch", json={"submissions": [
        {"source_code": "print(2)", "language_id": 71},
        {"source_code": "print(2)", "language_id": 123456789},
    ]})
    body = r.json()
    ok = r.status_code == 201 and "token" in body[0] and "language_id" in body[1]
    case("raw: batch answers a token or the refusals per item", ok, (r.status_code, body))
    if ok:
        _, done = poll(body[0]["token"])
        case("raw: the valid item of a batch runs", done["stdout"] == "2\n", done)


def zip64(entries, method=zipfile.ZIP_DEFLATED):
    """A zip of {name: text} in Base64, as Judge0's additional_files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, text in entries.items():
            z.writestr(name, text)
    return base64.b64encode(buf.getvalue()).decode()


def raw_additional_files():
    code = '#include <stdio.h>\n#include "answer.h"\n#include "lib/twice.h"\n' \
           'int main(void) { printf("%d\\n", TWICE(ANSWER)); return 0; }\n'
    files = zip64({"answer.h": "#define ANSWER 21\n", "lib/twice.h": "#define TWICE(x) ((x) * 2)\n"})
    r = post({"source_code": code, "language_id": 50, "additional_files": files}, wait="true")
    got = r.json()
    case("raw: C includes headers from additional_files (deflated zip)",
         r.status_code == 201 and got.get("status", {}).get("id") == 3 and got.get("stdout") == "42\n",
         (r.status_code, got))
    r = http.get(f"/submissions/{got.get('token')}", params={"fields": "additional_files"})
    case("raw: additional_files is answered as sent", r.json().get("additional_files") == files, r.text)
    r = post({"source_code": "print(1)", "language_id": 71, "additional_files": zip64({"../x": "x"})})
    case("raw: a zip entry leaving the job directory is a 422 naming additional_files",
         r.status_code == 422 and list(r.json()) == ["additional_files"] and "../x" in r.json()["additional_files"][0],
         (r.status_code, r.text))
    r = post({"source_code": "print(1)", "language_id": 71, "additional_files": b64("not a zip")})
    case("raw: an archive that is not a zip is a 422",
         r.status_code == 422 and list(r.json()) == ["additional_files"], (r.status_code, r.text))
    r = post({"source_code": "print(1)", "language_id": 71,
              "additional_files": zip64({"big.txt": "0" * (1 << 20)})})
    case("raw: more than the code cap once extracted is a 422",
         r.status_code == 422 and "once extracted" in r.json().get("additional_files", [""])[0],
         (r.status_code, r.text))


class Hook(BaseHTTPRequestHandler):
    received = []

    def do_PUT(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        Hook.received.append((self.path, self.headers.get("Content-Type"), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def raw_callback():
    info = http.get("/config_info").json()
    case("raw: config_info says callbacks are on", info["enable_callbacks"] is True, info["enable_callbacks"])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        r = post({"source_code": "import time\ntime.sleep(0.3)\nprint('called back')", "language_id": 71,
                  "callback_url": f"http://127.0.0.1:{port}/hook/plain"})
        plain = r.json().get("token")
        case("raw: callback_url is accepted (wait=false)", r.status_code == 201 and plain, (r.status_code, r.text))
        r = post({"source_code": b64("print('b64')"), "language_id": 71,
                  "callback_url": f"http://127.0.0.1:{port}/hook/b64"}, base64_encoded="true")
        encoded = r.json().get("token")
        deadline = time.time() + 90
        while len(Hook.received) < 2 and time.time() < deadline:
            time.sleep(0.1)
        calls = {path: (kind, json.loads(body)) for path, kind, body in Hook.received}
        kind, got = calls.get("/hook/plain", (None, {}))
        case("raw: the callback PUTs the finished submission",
             got.get("token") == plain and got.get("status", {}).get("id") == 3 and got.get("stdout") == "called back\n"
             and kind == "application/json" and set(got) == {"token", "time", "memory", "stdout", "stderr",
                                                              "compile_output", "message", "status"},
             Hook.received)
        _, got = calls.get("/hook/b64", (None, {}))
        case("raw: a base64_encoded submission's callback is in Base64",
             got.get("token") == encoded and got.get("status", {}).get("id") == 3 and unb64(got.get("stdout")) == "b64\n",
             Hook.received)
        r = http.get(f"/submissions/{plain}", params={"fields": "callback_url"})
        case("raw: callback_url is answered", r.json() == {"callback_url": f"http://127.0.0.1:{port}/hook/plain"}, r.text)
    finally:
        server.shutdown()
    r = post({"source_code": "print(1)", "language_id": 71, "callback_url": "http://127.0.0.2:9/x"})
    case("raw: a callback to a host not allowed is a 422 naming callback_url",
         r.status_code == 422 and list(r.json()) == ["callback_url"] and "not allowed" in r.json()["callback_url"][0],
         (r.status_code, r.text))
    r = post({"source_code": "print(1)", "language_id": 71, "callback_url": f"https://127.0.0.1:{port}/x"})
    case("raw: an https callback is a 422 (plain http only)",
         r.status_code == 422 and list(r.json()) == ["callback_url"], (r.status_code, r.text))


def main():
    attempt("sdk: client", sdk_client)
    if client is not None:
        for fn in (sdk_python_stdin, sdk_c_compile_error, sdk_python_exception, sdk_cpp_wrong_answer,
                   sdk_rust_right_answer, sdk_javascript, sdk_time_limit, sdk_batch_of_three, sdk_test_cases,
                   sdk_additional_files):
            attempt(fn.__name__, fn)
    for fn in (raw_base64, raw_fields_and_polling, raw_invalid_input, raw_auth, raw_batch_with_an_invalid_item,
               raw_additional_files, raw_callback):
        attempt(fn.__name__, fn)


main()
passed, failed = results.count(True), results.count(False)
print(f"judge0: {passed} passed, {failed} failed")
raise SystemExit(1 if failed or not passed else 0)
