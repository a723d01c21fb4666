#!/usr/bin/env python3
"""Rewrites a tree-sitter grammar's generated parser.c so that its lexer,
run as WebAssembly, calls the host less often, with the same tokens.

Built as WebAssembly, a grammar's lexer reaches tree-sitter's lexer (in the
host) through imported functions, and each call costs about as much as
lexing a character: on a 10 KB Java program, 19 000 `eof` calls and 9 000
`mark_end` calls per parse. Two of them are redundant:

- `eof`: every lexer state asks the host whether input has ended. At the
  end, tree-sitter always sets the lookahead to 0, so a nonzero lookahead
  answers "no" without asking.
- `mark_end`: accepting a token marks its end at the current position. When
  the next step advances into a state that accepts again on entry, that
  state marks a later end and names its own token, so the first mark can
  never be the one that counts. The mark is deferred to the next transition
  and made only when the target state does not accept on entry, or when the
  lexer returns. And when the main lexer (`ts_lex`) returns having marked
  nothing yet, tree-sitter's `ts_lexer_finish` marks the end where the
  lexer stands, as that last mark would: it is skipped too. (The keyword
  lexer's caller reads the mark without `ts_lexer_finish`: it always
  marks.)

Used by scripts/build-grammar-wasm.sh. The trees stay the same: checked
node for node (kind, byte range, flags) against the native grammar crates
on the grammars the repository ships (see plugins/*/grammar/SOURCE.md) and
on tree-sitter-c 0.24.2 with 8534 headers of /usr/include.

A parser.c whose lexer is not in the shape this script knows (an older
tree-sitter's, say, which asks `eof` inside START_LEXER) is refused with
exit status 3 and left as it is; the build script then compiles it
unchanged.

usage: grammar-lexer-calls.py IN_PARSER_C OUT_PARSER_C
"""

import re
import sys

# The lexer functions tree-sitter generates (the keyword lexer is optional),
# and whether tree-sitter marks the token's end itself when the function
# returns without having marked it (`ts_lexer_finish` after the main lexer).
LEX_FUNCTIONS = (("ts_lex", 1), ("ts_lex_keywords", 0))

# Replaces parser.h's lexer macros (included right after it). Every
# transition (ADVANCE, ADVANCE_MAP, SKIP) jumps to `next_state` with the
# target already in `state`, so the deferred mark is settled there, before
# the host moves past the position it belongs to.
MACROS = r"""
/* grammar-lexer-calls.py: fewer host calls from the lexer, same tokens. */
#undef START_LEXER
#undef ACCEPT_TOKEN
#undef END_STATE
#define START_LEXER()                                             \
  bool result = false;                                            \
  bool skip = false;                                              \
  bool mark_pending = false;                                      \
  bool marked = false;                                            \
  UNUSED                                                          \
  bool eof = false;                                               \
  int32_t lookahead;                                              \
  goto start;                                                     \
  next_state:                                                     \
  if (mark_pending && (skip || state >= CODR_STATE_COUNT ||       \
                       !CODR_ACCEPTS_ON_ENTRY[state])) {          \
    lexer->mark_end(lexer);                                       \
    marked = true;                                                \
  }                                                               \
  mark_pending = false;                                           \
  lexer->advance(lexer, skip);                                    \
  start:                                                          \
  skip = false;                                                   \
  lookahead = lexer->lookahead;

#define ACCEPT_TOKEN(symbol_value)     \
  result = true;                       \
  lexer->result_symbol = symbol_value; \
  mark_pending = true;

#define END_STATE()                                                    \
  {                                                                    \
    if (mark_pending && (marked || !CODR_HOST_MARKS_AT_FINISH))        \
      lexer->mark_end(lexer);                                          \
    return result;                                                     \
  }
"""

EOF_CALL = "  eof = lexer->eof(lexer);\n"
EOF_FAST = "  eof = lookahead == 0 && lexer->eof(lexer);\n"


# Exit status for a parser.c this script does not know how to rewrite.
UNKNOWN_SHAPE = 3


def fail(message):
    print(f"grammar-lexer-calls.py: {message}", file=sys.stderr)
    sys.exit(UNKNOWN_SHAPE)


def accepting_states(body):
    """The states of one lexer function whose first statement accepts a token,
    and the number of states (the largest case label + 1)."""
    accepting, largest = [], -1
    for match in re.finditer(r"^    case (\d+):\n(.*)$", body, re.M):
        state = int(match.group(1))
        largest = max(largest, state)
        if match.group(2).lstrip().startswith("ACCEPT_TOKEN("):
            accepting.append(state)
    return accepting, largest + 1


def rewrite_function(text, name, host_marks_at_finish):
    """Puts the function's table and its table macros before it, and its
    fast `eof` inside it. Returns the new text and whether it was found."""
    header = f"static bool {name}(TSLexer *lexer, TSStateId state) {{\n"
    start = text.find(header)
    if start < 0:
        return text, False
    end = text.find("\n}\n", start)
    if end < 0:
        fail(f"{name}: no end of function")
    body = text[start:end]
    if body.count(EOF_CALL) != 1 or "START_LEXER();" not in body:
        fail(f"{name}: not the generated lexer shape (START_LEXER, one eof call)")
    accepting, count = accepting_states(body)
    if count == 0:
        fail(f"{name}: no states")
    flags = ["0"] * count
    for state in accepting:
        flags[state] = "1"
    table = (
        f"#undef CODR_ACCEPTS_ON_ENTRY\n#undef CODR_STATE_COUNT\n"
        f"#undef CODR_HOST_MARKS_AT_FINISH\n"
        f"#define CODR_ACCEPTS_ON_ENTRY codr_{name}_accepts_on_entry\n"
        f"#define CODR_STATE_COUNT {count}\n"
        f"#define CODR_HOST_MARKS_AT_FINISH {host_marks_at_finish}\n"
        f"static const unsigned char codr_{name}_accepts_on_entry[{count}] = {{"
        + ",".join(flags)
        + "};\n\n"
    )
    body = body.replace(EOF_CALL, EOF_FAST)
    return text[:start] + table + body + text[end:], True


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1], encoding="utf-8") as source:
        text = source.read()
    include = '#include "tree_sitter/parser.h"\n'
    if text.count(include) != 1:
        fail('parser.c does not include "tree_sitter/parser.h" once')
    text = text.replace(include, include + MACROS)
    found = []
    for name, host_marks_at_finish in LEX_FUNCTIONS:
        text, present = rewrite_function(text, name, host_marks_at_finish)
        found.append(present)
    if not found[0]:
        fail("no ts_lex function: not a generated parser.c")
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        out.write(text)


if __name__ == "__main__":
    main()
