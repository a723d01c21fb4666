// Bundles the playground into target/web/ (see Makefile `web`): index.html,
// playground.js and playground.css, each beside a gzip and a brotli copy
// that the host serves to browsers asking for them. The host embeds these
// files (host/build.rs); nothing here is fetched at run time.
import { build } from "esbuild";
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync, brotliCompressSync, constants } from "node:zlib";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "target", "web");
mkdirSync(out, { recursive: true });

await build({
  entryPoints: { playground: join(here, "src", "main.js") },
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  outdir: out,
  legalComments: "eof",
  logLevel: "warning",
});
copyFileSync(join(here, "index.html"), join(out, "index.html"));

for (const name of ["index.html", "playground.js", "playground.css"]) {
  const raw = readFileSync(join(out, name));
  const gz = gzipSync(raw, { level: 9 });
  const br = brotliCompressSync(raw, {
    params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: raw.length },
  });
  writeFileSync(join(out, name + ".gz"), gz);
  writeFileSync(join(out, name + ".br"), br);
  console.log(`web: ${name} ${raw.length} bytes, gzip ${gz.length}, brotli ${br.length}`);
}
