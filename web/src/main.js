// The codr playground: an editor (CodeMirror 6), a language picker filled
// from /api/languages, and a terminal (xterm.js) wired to /ws/execute.
//
// The API key: the URL codr prints at start-up carries it in the fragment
// (`/#key=...`), which browsers never send to the server; the page moves it
// to localStorage and drops it from the address bar. Without one, the Key
// button asks for it. Nothing secret is in the page's source.
import "@xterm/xterm/css/xterm.css";
import "./style.css";

import { EditorState, Compartment } from "@codemirror/state";
import {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
  highlightSpecialChars,
} from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import {
  indentOnInput,
  bracketMatching,
  syntaxHighlighting,
  defaultHighlightStyle,
  foldGutter,
  foldKeymap,
  indentUnit,
} from "@codemirror/language";
import { closeBrackets, closeBracketsKeymap } from "@codemirror/autocomplete";
import { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
import { lintGutter, setDiagnostics } from "@codemirror/lint";
import { oneDark } from "@codemirror/theme-one-dark";
import { Terminal } from "@xterm/xterm";
import { FitAddon } from "@xterm/addon-fit";

const $ = (id) => document.getElementById(id);
const store = {
  get(k) {
    try {
      return localStorage.getItem("codr." + k);
    } catch {
      return null;
    }
  },
  set(k, v) {
    try {
      localStorage.setItem("codr." + k, v);
    } catch {
      /* private mode: nothing kept */
    }
  },
};

// ---- the API key -----------------------------------------------------------
(function keyFromFragment() {
  const m = /(?:^#|&)key=([^&]+)/.exec(location.hash);
  if (m) {
    store.set("key", decodeURIComponent(m[1]));
    window.history.replaceState(null, "", location.pathname + location.search);
  }
})();
const keyForm = $("key-form");
function askKey(message) {
  keyForm.hidden = false;
  $("key-input").value = store.get("key") || "";
  $("key-input").focus();
  if (message) setStatus(message, "error");
}
$("key").addEventListener("click", () => (keyForm.hidden ? askKey() : (keyForm.hidden = true)));
keyForm.addEventListener("submit", (e) => {
  e.preventDefault();
  store.set("key", $("key-input").value.trim());
  keyForm.hidden = true;
  setStatus("Key saved", "idle");
});

// ---- colours ---------------------------------------------------------------
const dark = window.matchMedia("(prefers-color-scheme: dark)");
const termThemes = {
  light: { background: "#fbfbfa", foreground: "#1f2328", cursor: "#1f2328", selectionBackground: "#b6d4fe" },
  dark: { background: "#16181d", foreground: "#d7dae0", cursor: "#d7dae0", selectionBackground: "#3e4451" },
};

// ---- the editor ------------------------------------------------------------
// Each language's grammar is a chunk of its own, loaded when first picked.
const modes = {
  python: () => import("@codemirror/lang-python").then((m) => m.python()),
  javascript: () => import("@codemirror/lang-javascript").then((m) => m.javascript()),
  typescript: () => import("@codemirror/lang-javascript").then((m) => m.javascript({ typescript: true })),
  c: () => import("@codemirror/lang-cpp").then((m) => m.cpp()),
  cpp: () => import("@codemirror/lang-cpp").then((m) => m.cpp()),
  "c++": () => import("@codemirror/lang-cpp").then((m) => m.cpp()),
  rust: () => import("@codemirror/lang-rust").then((m) => m.rust()),
  java: () => import("@codemirror/lang-java").then((m) => m.java()),
  go: () => import("@codemirror/lang-go").then((m) => m.go()),
};
const languageConf = new Compartment();
const themeConf = new Compartment();
const themeExt = () => (dark.matches ? oneDark : syntaxHighlighting(defaultHighlightStyle, { fallback: true }));

const editor = new EditorView({
  parent: $("editor"),
  state: EditorState.create({
    doc: "",
    extensions: [
      lineNumbers(),
      highlightActiveLineGutter(),
      highlightSpecialChars(),
      history(),
      foldGutter(),
      drawSelection(),
      indentOnInput(),
      bracketMatching(),
      closeBrackets(),
      highlightActiveLine(),
      highlightSelectionMatches(),
      lintGutter(),
      indentUnit.of("    "),
      keymap.of([
        { key: "Mod-Enter", run: () => (run(), true), preventDefault: true },
        ...closeBracketsKeymap,
        ...defaultKeymap,
        ...searchKeymap,
        ...historyKeymap,
        ...foldKeymap,
        indentWithTab,
      ]),
      languageConf.of([]),
      themeConf.of(themeExt()),
      EditorView.updateListener.of((u) => {
        if (u.docChanged) {
          saveSoon();
          if (shownDiagnostics) clearDiagnostics();
        }
      }),
    ],
  }),
});

// ---- the terminal ----------------------------------------------------------
const term = new Terminal({
  convertEol: true,
  cursorBlink: true,
  fontFamily: 'ui-monospace, "SFMono-Regular", Menlo, Consolas, "DejaVu Sans Mono", monospace',
  fontSize: 14,
  scrollback: 5000,
  theme: dark.matches ? termThemes.dark : termThemes.light,
  // Program output stays inside the terminal: no links opened (OSC 8),
  // no window reports or moves, no clipboard, no title (below).
  linkHandler: { activate: () => {}, allowNonHttpProtocols: false },
  windowOptions: {},
  allowProposedApi: false,
});
const fit = new FitAddon();
term.loadAddon(fit);
term.open($("terminal"));
// Swallow the escape sequences that reach outside a terminal: window and
// icon titles (OSC 0, 1, 2), hyperlinks (OSC 8), clipboard (OSC 52), and
// colour queries whose answers would be typed into the program (OSC 4, 10-19).
for (const osc of [0, 1, 2, 4, 8, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 52, 104, 110, 111, 112]) {
  term.parser.registerOscHandler(osc, () => true);
}
dark.addEventListener("change", () => {
  term.options.theme = dark.matches ? termThemes.dark : termThemes.light;
  editor.dispatch({ effects: themeConf.reconfigure(themeExt()) });
});

function refit() {
  try {
    fit.fit();
  } catch {
    /* hidden */
  }
}
new ResizeObserver(refit).observe($("terminal"));
window.addEventListener("resize", refit);
refit();

// ---- languages and samples ---------------------------------------------------
let languages = [];
let samples = {};
const picker = $("language");
const samplePicker = $("sample");

function currentLanguage() {
  return languages.find((l) => l.name === picker.value);
}

function fillSamples(lang) {
  samplePicker.length = 1;
  for (const s of samples[lang] || []) {
    const o = document.createElement("option");
    o.value = s.name;
    o.textContent = s.name;
    samplePicker.append(o);
  }
}

function setCode(text) {
  editor.dispatch({ changes: { from: 0, to: editor.state.doc.length, insert: text } });
}

function selectLanguage(name) {
  const lang = languages.find((l) => l.name === name) || languages[0];
  if (!lang) return;
  picker.value = lang.name;
  store.set("language", lang.name);
  const mode = modes[lang.editor_mode] || modes[lang.name];
  editor.dispatch({ effects: languageConf.reconfigure([]) });
  if (mode) {
    mode()
      .then((ext) => {
        if (picker.value === lang.name) editor.dispatch({ effects: languageConf.reconfigure(ext) });
      })
      .catch(() => {
        /* highlighting is optional: the editor works without it */
      });
  }
  fillSamples(lang.name);
  const saved = store.get("code." + lang.name);
  const first = (samples[lang.name] || [])[0];
  setCode(saved ?? (first ? first.source : ""));
  clearDiagnostics();
}

picker.addEventListener("change", () => {
  saveNow();
  selectLanguage(picker.value);
});
samplePicker.addEventListener("change", () => {
  const s = (samples[picker.value] || []).find((x) => x.name === samplePicker.value);
  if (s) setCode(s.source);
  samplePicker.value = "";
  editor.focus();
});

let saveTimer = 0;
function saveNow() {
  clearTimeout(saveTimer);
  if (picker.value) store.set("code." + picker.value, editor.state.doc.toString());
}
function saveSoon() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(saveNow, 300);
}
window.addEventListener("pagehide", saveNow);

async function loadLanguages() {
  try {
    const [langs, samp] = await Promise.all([
      fetch("/api/languages").then((r) => r.json()),
      fetch("/playground/samples.json")
        .then((r) => (r.ok ? r.json() : {}))
        .catch(() => ({})),
    ]);
    languages = langs;
    samples = samp;
  } catch (e) {
    setStatus("Cannot load the languages: " + e, "error");
    return;
  }
  picker.length = 0;
  for (const l of languages) {
    const o = document.createElement("option");
    o.value = l.name;
    o.textContent = `${l.name} ${l.version}`;
    picker.append(o);
  }
  selectLanguage(store.get("language") || (languages.find((l) => l.name === "python") || {}).name);
  document.body.dataset.ready = "true";
}

// ---- diagnostics -------------------------------------------------------------
let shownDiagnostics = false;
function clearDiagnostics() {
  shownDiagnostics = false;
  editor.dispatch(setDiagnostics(editor.state, []));
  $("diagnostics").replaceChildren();
}

function showDiagnostics(list) {
  const doc = editor.state.doc;
  const pos = (line, col) => {
    const l = doc.line(Math.min(Math.max(line, 1), doc.lines));
    return Math.min(l.from + Math.max(col - 1, 0), l.to);
  };
  const items = list.map((d) => {
    const from = pos(d.line, d.column);
    let to = d.end_line ? pos(d.end_line, d.end_column) : from;
    if (to <= from) to = Math.min(from + 1, doc.length);
    return { from, to, severity: "error", source: d.rule, message: d.message };
  });
  editor.dispatch(setDiagnostics(editor.state, items));
  const ul = $("diagnostics");
  ul.replaceChildren(
    ...list.map((d) => {
      const li = document.createElement("li");
      li.dataset.line = d.line;
      li.dataset.column = d.column;
      const at = document.createElement("button");
      at.className = "at";
      at.textContent = `${d.line}:${d.column}`;
      at.addEventListener("click", () => {
        const p = pos(d.line, d.column);
        editor.dispatch({ selection: { anchor: p }, scrollIntoView: true });
        editor.focus();
      });
      const msg = document.createElement("span");
      msg.textContent = ` ${d.message} `;
      const rule = document.createElement("code");
      rule.textContent = d.rule;
      li.append(at, msg, rule);
      return li;
    }),
  );
  shownDiagnostics = true;
}

// ---- status ------------------------------------------------------------------
function setStatus(text, state) {
  const s = $("status");
  s.textContent = text;
  s.dataset.state = state;
}

function formatBytes(n) {
  if (!n) return "0 B";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

const statusText = {
  ok: "Finished",
  runtime_error: "Runtime error",
  time_limit: "Time limit",
  memory_limit: "Memory limit",
  output_limit: "Output limit",
  disk_limit: "Disk limit",
  compile_error: "Compile error",
  rejected: "Rejected",
  internal_error: "Internal error",
};

function describe(c, stopped) {
  const parts = [stopped && c.status !== "ok" ? "Stopped" : statusText[c.status] || c.status];
  if (c.exit_code !== null && c.exit_code !== undefined) parts.push(`exit ${c.exit_code}`);
  if (c.signal) parts.push(c.signal);
  parts.push(`${(c.wall_time_ms ?? c.execution_time * 1000).toFixed(0)} ms`);
  if (c.cpu_time_ms) parts.push(`cpu ${c.cpu_time_ms} ms`);
  if (c.memory_bytes) parts.push(formatBytes(c.memory_bytes));
  return parts.join(" · ");
}

// ---- running -----------------------------------------------------------------
let socket = null;
let starting = false;
let stopAsked = false;

function setRunning(on) {
  $("run").disabled = on;
  $("stop").disabled = !on;
  document.body.dataset.running = on ? "true" : "false";
}

function send(msg) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(msg));
}

term.onData((data) => send({ type: "input", data }));
term.onResize(({ rows, cols }) => send({ type: "resize", rows, cols }));

async function run() {
  if (socket || starting) return;
  const lang = currentLanguage();
  if (!lang) return;
  const key = store.get("key");
  if (!key) return askKey("An API key is needed to run code");
  starting = true;
  try {
    await start(lang, key);
  } finally {
    starting = false;
  }
}

async function start(lang, key) {
  saveNow();
  clearDiagnostics();
  stopAsked = false;
  term.reset();
  refit();
  setRunning(true);
  setStatus("Creating the job…", "busy");
  let job;
  try {
    const r = await fetch("/api/jobs/create", { method: "POST", headers: { "X-API-Key": key } });
    if (r.status === 401) {
      setRunning(false);
      return askKey("The API key was refused: enter another one");
    }
    if (!r.ok) {
      const body = await r.json().catch(() => ({}));
      throw new Error(body.message || body.error || `HTTP ${r.status}`);
    }
    job = await r.json();
  } catch (e) {
    setRunning(false);
    return setStatus("Cannot create a job: " + e.message, "error");
  }
  const url = new URL("/ws/execute", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(url);
  socket = ws;
  let ended = false;
  let compileShown = false;
  ws.onopen = () => {
    ws.send(
      JSON.stringify({
        type: "execute",
        job_id: job.job_id,
        job_token: job.job_token,
        code: editor.state.doc.toString(),
        language: lang.name,
      }),
    );
    ws.send(JSON.stringify({ type: "resize", rows: term.rows, cols: term.cols }));
    setStatus("Queued…", "busy");
  };
  ws.onmessage = (e) => {
    let m;
    try {
      m = JSON.parse(e.data);
    } catch {
      return;
    }
    switch (m.type) {
      case "stage":
        setStatus(m.stage === "compiling" ? "Compiling…" : m.stage === "running" ? "Running…" : m.stage, "busy");
        if (m.stage === "running") term.focus();
        break;
      case "output":
        if (m.stream === "compile") compileShown = true;
        if (m.stream === "stderr" || m.stream === "compile") term.write("\x1b[31m" + m.data + "\x1b[0m");
        else term.write(m.data);
        break;
      case "input_required":
        term.focus();
        setStatus("Waiting for input…", "input");
        break;
      case "notice":
        term.write(`\r\n\x1b[33m[codr: ${m.message}]\x1b[0m\r\n`);
        break;
      case "complete":
        ended = true;
        if (m.compile_output && !compileShown && m.status === "compile_error") {
          term.write("\x1b[31m" + m.compile_output + "\x1b[0m");
        }
        if (m.message && m.status !== "ok") term.write(`\r\n\x1b[33m[${m.message}]\x1b[0m`);
        setStatus(describe(m, stopAsked), m.status === "ok" && m.exit_code === 0 ? "ok" : "error");
        break;
      case "error":
        ended = true;
        if (m.diagnostics && m.diagnostics.length) showDiagnostics(m.diagnostics);
        term.write(`\x1b[31m${m.message}\x1b[0m\r\n`);
        if (m.diagnostics && m.diagnostics.length) {
          const d = m.diagnostics[0];
          const more = m.diagnostics.length > 1 ? ` (+${m.diagnostics.length - 1} more)` : "";
          setStatus(`Rejected by ${d.rule} at line ${d.line}, column ${d.column}${more}`, "error");
        } else {
          setStatus("Error: " + m.message, "error");
        }
        break;
    }
  };
  ws.onclose = () => {
    if (socket === ws) socket = null;
    setRunning(false);
    if (!ended) setStatus("Connection closed before the end of the job", "error");
  };
}

function stop() {
  stopAsked = true;
  send({ type: "kill" });
}

$("run").addEventListener("click", run);
$("stop").addEventListener("click", stop);
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "Enter" && !e.defaultPrevented) {
    e.preventDefault();
    run();
  }
});

// For tests and for people poking at the page from the console.
window.codr = {
  editor,
  term,
  setCode,
  code: () => editor.state.doc.toString(),
  terminalText() {
    const b = term.buffer.active;
    const lines = [];
    for (let i = 0; i < b.length; i++) lines.push(b.getLine(i).translateToString(true));
    return lines.join("\n").replace(/\n+$/, "");
  },
};

loadLanguages();
