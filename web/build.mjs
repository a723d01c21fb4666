// Bundles the playground into target/web/ (see Makefile `web`): index.html,
// playground.js and playground.css, each beside a gzip and a brotli copy
// that the host serves to browsers asking for them. The host embeds these
// files (host/build.rs); nothing here is fetched at run time.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";
import { createHash } from "node:crypto";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "target", "web");
mkdirSync(out, { recursive: true });
// Start from an empty folder (the stamps aside): chunks of earlier builds
// would be embedded too.
for (const name of readdirSync(out)) {
  if (!name.startsWith(".")) rmSync(join(out, name));
}

await build({
  entryPoints: { playground: join(here, "src", "main.js") },
  bundle: true,
  minify: true,
  format: "esm",
  splitting: true,
  chunkNames: "chunk-[hash]",
  target: ["es2020"],
  outdir: out,
  legalComments: "eof",
  logLevel: "warning",
});
// The page names each asset with its content's hash (`?v=`), so that the
// host can let browsers keep them for a year and a new build is fetched anew.
let html = readFileSync(join(here, "index.html"), "utf8");
for (const name of ["playground.js", "playground.css"]) {
  const hash = createHash("sha256").update(readFileSync(join(out, name))).digest("hex").slice(0, 16);
  html = html.replace(`/playground/${name}"`, `/playground/${name}?v=${hash}"`);
}
writeFileSync(join(out, "index.html"), html);

const files = readdirSync(out).filter((n) => /\.(html|js|css)$/.test(n));
for (const name of files) {
  const raw = readFileSync(join(out, name));
  const gz = gzipSync(raw, { level: 9 });
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  });
  writeFileSync(join(out, name + ".gz"), gz);
  writeFileSync(join(out, name + ".br"), br);
  console.log(`web: ${name} ${raw.length} bytes, gzip ${gz.length}, brotli ${br.length}`);
}
