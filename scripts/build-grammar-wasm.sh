#!/usr/bin/env bash
# Builds a tree-sitter grammar as WebAssembly for a plugin to ship, built
# for speed. The lexer is the part of a parse that runs as WebAssembly:
# - `tree-sitter build --wasm` (and so the .wasm files grammar packages
#   publish) compiles for size (-Os); -O2 is faster;
# - scripts/grammar-lexer-calls.py first rewrites the lexer to skip the
#   host calls whose answers it already knows (see that script).
# A 10 KB program then parses in about 1.2x the native time (Go, Java),
# against 1.37x and 1.47x with the published files, with the same
# trees. See plugins/go/grammar/SOURCE.md.
#
# usage: scripts/build-grammar-wasm.sh NAME SRC_DIR OUT.wasm
#   NAME     the grammar's name: the file exports tree_sitter_NAME
#   SRC_DIR  the grammar's generated sources: src/ with parser.c and
#            tree_sitter/parser.h (the npm package and the crates.io crate
#            of a grammar both carry it)
# Needs clang, wasm-ld and python3 (Debian: apt-get install clang lld
# python3).
set -euo pipefail

if [ $# -ne 3 ]; then
	sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
name=$1 src=$2 out=$3

[ -f "$src/parser.c" ] || { echo "no $src/parser.c: SRC_DIR is the grammar's src/ folder" >&2; exit 1; }
# An external scanner is C that uses the C library; its headers are not
# here. tree-sitter's own build (wasi-sdk) has them.
if ls "$src"/scanner.c* >/dev/null 2>&1; then
	echo "$src has an external scanner: build it with 'tree-sitter build --wasm'" >&2
	exit 1
fi

# The first clang and wasm-ld found, plain or versioned (Debian's llvm-N).
find_tool() {
	for t in "$1" /usr/lib/llvm-*/bin/"$1"; do
		if command -v "$t" >/dev/null 2>&1; then
			command -v "$t"
			return
		fi
	done
	echo "$1 not found (Debian: apt-get install clang lld)" >&2
	exit 1
}
clang=$(find_tool clang)
wasm_ld=$(find_tool wasm-ld)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# parser.h includes <stdlib.h> for scanners' allocations; a parser calls no
# C library function, so declarations are enough (tree-sitter's WebAssembly
# store provides malloc and friends to a grammar that imports them).
mkdir -p "$work/include"
cat >"$work/include/stdlib.h" <<'EOF'
#include <stddef.h>
void *malloc(size_t);
void *calloc(size_t, size_t);
void *realloc(void *, size_t);
void free(void *);
void abort(void);
EOF

# A side module as tree-sitter loads one: position-independent code (clang
# emits it for wasm only under the emscripten triple; -ffreestanding keeps
# the host's C headers out), linked with a dylink.0 section, exporting the
# language function; anything undefined becomes an import the loader
# resolves or refuses.
# The lexer rewritten to call the host less; one this rewrite does not know
# (exit status 3) is compiled as it is, only slower.
status=0
python3 "$(dirname "$0")/grammar-lexer-calls.py" "$src/parser.c" "$work/parser.c" || status=$?
if [ "$status" = 3 ]; then
	echo "the lexer keeps all its host calls: compiling $src/parser.c unchanged" >&2
	cp "$src/parser.c" "$work/parser.c"
elif [ "$status" != 0 ]; then
	exit "$status"
fi
"$clang" --target=wasm32-unknown-emscripten -ffreestanding -fPIC -O2 \
	-fvisibility=hidden -isystem "$work/include" -I "$src" \
	-c "$work/parser.c" -o "$work/parser.o"
"$wasm_ld" --shared --experimental-pic --export="tree_sitter_$name" \
	--allow-undefined -o "$out" "$work/parser.o"
echo "$out: $(wc -c <"$out") bytes, sha256 $(sha256sum "$out" | cut -d' ' -f1)"
