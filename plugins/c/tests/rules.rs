//! The C plugin's rules on rejected and accepted programs (native
//! tree-sitter through the SDK, no wasm runtime).

use codr_plugin_c::C;
use codr_sdk::{Diagnostic, Language, Settings};

fn check(source: &str) -> Vec<Diagnostic> {
    C::validate(source, &Settings::default())
}

#[track_caller]
fn rejected(source: &str, rule: &str, line: u32, column: u32) {
    codr_sdk::testing::assert_rejected::<C>(source, rule, line, column);
}

#[track_caller]
fn accepted(source: &str) {
    codr_sdk::testing::assert_accepted::<C>(source);
}

#[test]
fn rejects_system_call() {
    rejected(
        "#include <stdlib.h>\nint main(void) {\n    system(\"ls\");\n    return 0;\n}\n",
        "blocked-call",
        3,
        5,
    );
}

#[test]
fn rejects_fork_and_exec_family() {
    let src = "int main(void) {\n    if (fork() == 0) {\n        char *argv[] = {\"sh\", 0};\n        execvp(\"sh\", argv);\n    }\n    return 0;\n}\n";
    rejected(src, "blocked-call", 2, 9);
    rejected(src, "blocked-call", 4, 9);
    let names = [
        "execl", "execlp", "execle", "execv", "execve", "execvpe", "fexecve", "vfork", "clone",
    ];
    for name in names {
        rejected(
            &format!("int main(void) {{ {name}(0); }}\n"),
            "blocked-call",
            1,
            18,
        );
    }
}

#[test]
fn rejects_popen_with_message() {
    let found = check("#include <stdio.h>\nint main(void) {\n  FILE *f = popen(\"id\", \"r\");\n  return f == 0;\n}\n");
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].rule, "blocked-call");
    assert_eq!((found[0].line, found[0].column), (3, 13));
    assert_eq!((found[0].end_line, found[0].end_column), (3, 18));
    assert_eq!(found[0].message, "call of 'popen' is not allowed");
}

#[test]
fn rejects_sockets_loader_and_ptrace() {
    let src = "int main(void) {\n  int s = socket(2, 1, 0);\n  connect(s, 0, 0);\n  bind(s, 0, 0);\n  listen(s, 1);\n  accept(s, 0, 0);\n  void *h = dlopen(\"libc.so.6\", 1);\n  dlsym(h, \"system\");\n  ptrace(0, 0, 0, 0);\n  syscall(57);\n}\n";
    for (line, column) in [
        (2, 11),
        (3, 3),
        (4, 3),
        (5, 3),
        (6, 3),
        (7, 13),
        (8, 3),
        (9, 3),
        (10, 3),
    ] {
        rejected(src, "blocked-call", line, column);
    }
}

#[test]
fn rejects_function_pointers_to_blocked_functions() {
    let src = "#include <stdlib.h>\nint run(int (*f)(const char *), const char *c) { return f(c); }\nint main(void) {\n  int (*p)(const char *) = system;\n  p = system;\n  (system)(\"id\");\n  run(system, \"id\");\n  void *q = (void *)&fork;\n  return 0;\n}\n";
    for (line, column) in [(4, 28), (5, 7), (6, 4), (7, 7), (8, 22)] {
        rejected(src, "blocked-call", line, column);
    }
}

#[test]
fn rejects_blocked_headers() {
    let src = "#include <stdio.h>\n#include <unistd.h>\n#include <sys/socket.h>\n#include <netinet/in.h>\n#include <arpa/inet.h>\n#include \"dlfcn.h\"\n#include <signal.h>\n";
    for line in 2..=5 {
        rejected(src, "blocked-header", line, 10);
    }
    rejected(src, "blocked-header", 6, 10);
    rejected(src, "blocked-header", 7, 10);
    let found = check(src);
    assert_eq!(found.len(), 6, "stdio.h is fine: {found:#?}");
    assert_eq!(
        found[1].message,
        "include of header 'sys/socket.h' is not allowed"
    );
}

#[test]
fn rejects_includes_by_path_and_computed_includes() {
    rejected(
        "#include \"/etc/passwd\"\nint main(void) { return 0; }\n",
        "blocked-header",
        1,
        10,
    );
    rejected("#include \"../../secret.h\"\n", "blocked-header", 1, 10);
    rejected(
        "#define H <unistd.h>\n#include H\n",
        "blocked-header",
        2,
        10,
    );
}

#[test]
fn rejects_inline_asm_in_every_spelling() {
    let src = "int main(void) {\n  asm(\"nop\");\n  __asm__ volatile(\"nop\");\n  asm volatile (\"nop\");\n  return 0;\n}\n";
    for line in 2..=4 {
        rejected(src, "inline-asm", line, 3);
    }
    // An asm label renames a declaration to another symbol.
    rejected(
        "int run(const char *) asm(\"system\");\n",
        "inline-asm",
        1,
        23,
    );
}

#[test]
fn rejects_macros_that_hide_blocked_calls() {
    rejected(
        "#define RUN system\nint main(void) { RUN(\"id\"); }\n",
        "blocked-macro",
        1,
        13,
    );
    rejected("#define SPAWN(x) fork()\n", "blocked-macro", 1, 18);
    rejected(
        "#define CAT(a, b) a##b\nint main(void) { CAT(sys, tem)(\"id\"); }\n",
        "token-pasting",
        1,
        19,
    );
}

#[test]
fn rejects_symbol_aliasing_attributes() {
    rejected(
        "static int run(const char *) __attribute__((weakref(\"system\")));\n",
        "blocked-attribute",
        1,
        45,
    );
}

#[test]
fn rejects_line_splices_that_hide_names() {
    rejected(
        "int main(void) {\n  sys\\\ntem(\"id\");\n}\n",
        "syntax-error",
        2,
        3,
    );
    rejected(
        "??=include <unistd.h>\nint main(void) { return 0; }\n",
        "syntax-error",
        1,
        1,
    );
}

#[test]
fn blocked_call_is_found_among_ordinary_code() {
    let src = "#include <stdio.h>\n\nstatic int square(int x) { return x * x; }\n\nint main(void) {\n    int n = 0;\n    if (scanf(\"%d\", &n) != 1) return 1;\n    printf(\"%d\\n\", square(n));\n    if (n > 10) system(\"id\");\n    return 0;\n}\n";
    let found = check(src);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].rule.as_str(), found[0].line, found[0].column),
        ("blocked-call", 9, 17)
    );
}

// ---- accepted programs ----

#[test]
fn accepts_reading_input() {
    accepted("#include <stdio.h>\n\nint main(void) {\n    int a, b;\n    if (scanf(\"%d %d\", &a, &b) != 2) return 1;\n    printf(\"%d\\n\", a + b);\n    return 0;\n}\n");
    accepted("#include <stdio.h>\n#include <string.h>\n\nint main(void) {\n    char line[256];\n    while (fgets(line, sizeof line, stdin)) {\n        line[strcspn(line, \"\\n\")] = '\\0';\n        puts(line);\n    }\n    int c;\n    while ((c = getchar()) != EOF) putchar(c);\n    return 0;\n}\n");
}

#[test]
fn accepts_names_that_merely_look_blocked() {
    accepted("#include <stdio.h>\n\nstruct task { int fork; int system; };\n\nint main(void) {\n    int system_count = 0;\n    int forks = 2;\n    struct task t = { .fork = 1, .system = 2 };\n    t.fork += forks;\n    struct task *p = &t;\n    p->system = system_count;\n    /* system(\"rm -rf /\") would be bad; fork() too */\n    // execvp, socket, dlopen in a comment\n    printf(\"system(\\\"ls\\\") and fork() are only text here %d\\n\", t.fork);\n    return 0;\n}\n");
}

#[test]
fn accepts_math() {
    accepted("#include <math.h>\n#include <stdio.h>\n\nint main(void) {\n    double x = 2.0;\n    printf(\"%.3f %.3f %.3f\\n\", sqrt(x), pow(x, 10), atan2(1.0, x));\n    long long f = 1;\n    for (int i = 1; i <= 20; i++) f *= i;\n    printf(\"%lld %d\\n\", f, abs(-3));\n    return 0;\n}\n");
}

#[test]
fn accepts_c11_features() {
    accepted("#include <stdio.h>\n#include <stdbool.h>\n#include <stdint.h>\n#include <stdalign.h>\n\n_Static_assert(sizeof(int) >= 4, \"int too small\");\n\n#define type_name(x) _Generic((x), int: \"int\", double: \"double\", default: \"other\")\n\nstruct point { int x, y; union { int tag; float weight; }; };\n\nint main(void) {\n    struct point p = { .x = 1, .y = 2, .tag = 3 };\n    int *arr = (int[]){ 1, 2, 3 };\n    alignas(16) uint8_t buf[16] = {0};\n    bool ok = true;\n    printf(\"%s %d %d %d %d\\n\", type_name(p.x), p.x + p.y, arr[2], buf[0], ok);\n    return 0;\n}\n");
}

#[test]
fn accepts_linked_list_with_malloc() {
    accepted("#include <stdio.h>\n#include <stdlib.h>\n\ntypedef struct node { int value; struct node *next; } node;\n\nstatic node *push(node *head, int value) {\n    node *n = malloc(sizeof *n);\n    if (!n) exit(1);\n    n->value = value;\n    n->next = head;\n    return n;\n}\n\nint main(void) {\n    node *head = NULL;\n    for (int i = 0; i < 5; i++) head = push(head, i);\n    for (node *n = head; n; n = n->next) printf(\"%d \", n->value);\n    while (head) { node *next = head->next; free(head); head = next; }\n    putchar('\\n');\n    return 0;\n}\n");
}

#[test]
fn accepts_qsort_with_comparator() {
    accepted("#include <stdio.h>\n#include <stdlib.h>\n\nstatic int cmp(const void *a, const void *b) {\n    int x = *(const int *)a, y = *(const int *)b;\n    return (x > y) - (x < y);\n}\n\nint main(void) {\n    int v[] = { 5, 3, 9, 1 };\n    size_t n = sizeof v / sizeof v[0];\n    qsort(v, n, sizeof v[0], cmp);\n    int (*compare)(const void *, const void *) = cmp;\n    for (size_t i = 0; i < n; i++) printf(\"%d%c\", v[i], i + 1 < n ? ' ' : '\\n');\n    return compare(&v[0], &v[1]) < 0 ? 0 : 1;\n}\n");
}

#[test]
fn accepts_own_functions_named_like_blocked_ones() {
    // A program's own definition replaces the library symbol in C.
    accepted("#include <stdio.h>\n\nstatic int parent[100];\n\nint find(int x) { return parent[x] == x ? x : (parent[x] = find(parent[x])); }\n\nvoid connect(int a, int b) { parent[find(a)] = find(b); }\n\nint accept(int a, int b) { return find(a) == find(b); }\n\nint main(void) {\n    for (int i = 0; i < 100; i++) parent[i] = i;\n    connect(1, 2);\n    connect(2, 3);\n    printf(\"%d\\n\", accept(1, 3));\n    return 0;\n}\n");
}

#[test]
fn accepts_strings_recursion_and_2d_arrays() {
    accepted("#include <stdio.h>\n#include <string.h>\n#include <ctype.h>\n\n#define N 3\n#define MAX(a, b) ((a) > (b) ? (a) : (b))\n\nstatic long fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }\n\nint main(void) {\n    char s[] = \"Hello\";\n    for (size_t i = 0; i < strlen(s); i++) s[i] = (char)toupper((unsigned char)s[i]);\n    int m[N][N] = {{1, 2, 3}, {4, 5, 6}, {7, 8, 9}};\n    int best = 0;\n    for (int i = 0; i < N; i++)\n        for (int j = 0; j < N; j++) best = MAX(best, m[i][j]);\n    printf(\"%s %ld %d\\n\", s, fib(20), best);\n    return 0;\n}\n");
}

#[test]
fn accepts_enums_switch_and_function_tables() {
    accepted("#include <stdio.h>\n#include <limits.h>\n#include <inttypes.h>\n\ntypedef enum { ADD, SUB, MUL } op;\n\nstatic int add(int a, int b) { return a + b; }\nstatic int sub(int a, int b) { return a - b; }\nstatic int mul(int a, int b) { return a * b; }\n\nint main(void) {\n    int (*table[])(int, int) = { add, sub, mul };\n    for (op o = ADD; o <= MUL; o++) {\n        switch (o) {\n        case ADD: puts(\"add\"); break;\n        default: puts(\"other\"); break;\n        }\n        printf(\"%d\\n\", table[o](6, 3));\n    }\n    int64_t big = INT_MAX;\n    printf(\"%\" PRId64 \"\\n\", big + 1);\n    return 0;\n}\n");
}

#[test]
fn accepts_the_samples() {
    for sample in C::samples() {
        accepted(&sample.source);
    }
}

// ---- settings ----

#[test]
fn operator_can_allow_functions_and_headers() {
    let src = "#include <unistd.h>\nint main(void) { return fork() < 0; }\n";
    assert_eq!(check(src).len(), 2);
    let settings =
        Settings::from_pairs(&[("allow-functions", "fork"), ("allow-headers", "unistd.h")]);
    assert!(C::validate(src, &settings).is_empty());
    let only_header = Settings::from_pairs(&[("allow-headers", "unistd.h")]);
    let found = C::validate(src, &only_header);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].rule, "blocked-call");
}

#[test]
fn operator_can_disable_rules() {
    let src = "int main(void) { asm(\"nop\"); return 0; }\n";
    assert_eq!(check(src)[0].rule, "inline-asm");
    let settings = Settings::from_pairs(&[("disable-rules", "inline-asm")]);
    assert!(C::validate(src, &settings).is_empty());
}

#[test]
fn rules_are_listed_without_internal_markers() {
    let ids: Vec<String> = C::rules().into_iter().map(|r| r.id).collect();
    for id in [
        "blocked-call",
        "blocked-header",
        "inline-asm",
        "blocked-macro",
        "token-pasting",
        "blocked-attribute",
        "syntax-error",
    ] {
        assert!(ids.iter().any(|i| i == id), "{id} missing from {ids:?}");
    }
    assert!(!ids.iter().any(|i| i == "defined-function"));
}

#[test]
fn own_definition_inside_disabled_code_does_not_exempt() {
    // Only file-scope definitions count; `#if 0` code is not compiled.
    let src = "#include <stdlib.h>\n#if 0\nint system(const char *c) { return 0; }\n#endif\nint main(void) { return system(\"id\"); }\n";
    rejected(src, "blocked-call", 5, 25);
}

#[test]
fn rejects_symbol_renaming_pragmas() {
    rejected(
        "int my(const char *);\n#pragma redefine_extname my system\n",
        "blocked-pragma",
        2,
        9,
    );
    rejected(
        "_Pragma(\"redefine_extname my system\")\n",
        "blocked-pragma",
        1,
        9,
    );
    accepted("#pragma once\n#pragma GCC optimize(\"O3\")\nint main(void) { return 0; }\n");
}

#[test]
fn rejects_other_include_directives() {
    rejected("#include_next <unistd.h>\n", "blocked-header", 1, 1);
    rejected("#import <unistd.h>\n", "blocked-header", 1, 1);
}

#[test]
fn rejects_blocked_functions_in_other_value_positions() {
    let src = "struct ops { int (*run)(const char *); };\nint main(void) {\n  struct ops o = { .run = system };\n  ({ system; });\n  _Generic(0, int: system)(\"id\");\n  return !fork;\n}\n";
    for (line, column) in [(3, 27), (4, 6), (5, 20), (6, 11)] {
        rejected(src, "blocked-call", line, column);
    }
}

#[test]
fn rejects_executable_memory() {
    let src = "void *mmap(void *, unsigned long, int, int, int, long);\nint main(void) {\n  void *p = mmap(0, 4096, 7, 0x22, -1, 0);\n  return p == 0;\n}\n";
    rejected(src, "blocked-call", 3, 13);
}

#[test]
fn a_variable_named_like_a_blocked_function_is_a_variable() {
    accepted("#include <stdio.h>\nint main(void) {\n    const char *system = \"linux\";\n    printf(\"%s\\n\", system);\n    int fork = 2;\n    return fork - 2;\n}\n");
    // A variable in one function does not excuse the function in another.
    let src = "#include <stdlib.h>\nvoid f(void) { int system = 1; (void)system; }\nint main(void) { int (*p)(const char *) = system; return p(\"id\"); }\n";
    let found: Vec<(String, u32, u32)> = check(src)
        .into_iter()
        .map(|d| (d.rule, d.line, d.column))
        .collect();
    assert_eq!(found, vec![("blocked-call".to_string(), 3, 43)]);
}
