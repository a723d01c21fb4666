//! The C++ plugin's rules on rejected and accepted programs (native
//! tree-sitter through the SDK, no wasm runtime).

use codr_plugin_cpp::Cpp;
use codr_sdk::{Diagnostic, Language, Settings};

fn check(source: &str) -> Vec<Diagnostic> {
    Cpp::validate(source, &Settings::default())
}

#[track_caller]
fn rejected(source: &str, rule: &str, line: u32, column: u32) {
    codr_sdk::testing::assert_rejected::<Cpp>(source, rule, line, column);
}

#[track_caller]
fn accepted(source: &str) {
    codr_sdk::testing::assert_accepted::<Cpp>(source);
}

#[test]
fn rejects_std_system() {
    let src = "#include <cstdlib>\nint main() {\n    std::system(\"ls\");\n}\n";
    rejected(src, "blocked-call", 3, 10);
    let found = check(src);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].message, "call of 'system' is not allowed");
}

#[test]
fn rejects_global_scope_and_plain_calls() {
    let src = "#include <cstdlib>\nusing namespace std;\nint main() {\n    ::system(\"id\");\n    system(\"id\");\n    ::fork();\n}\n";
    rejected(src, "blocked-call", 4, 7);
    rejected(src, "blocked-call", 5, 5);
    rejected(src, "blocked-call", 6, 7);
}

#[test]
fn rejects_nested_global_std_and_using_declarations() {
    let src =
        "#include <cstdlib>\nusing std::system;\nint main() {\n    ::std::system(\"id\");\n}\n";
    rejected(src, "blocked-call", 2, 12);
    rejected(src, "blocked-call", 4, 12);
}

#[test]
fn rejects_function_pointers_and_std_function() {
    let src = "#include <cstdlib>\n#include <functional>\nint main() {\n    auto f = &std::system;\n    std::function<int(const char *)> g = system;\n    int (*h)(const char *) = ::system;\n    return f(\"a\") + g(\"b\") + h(\"c\");\n}\n";
    rejected(src, "blocked-call", 4, 20);
    rejected(src, "blocked-call", 5, 42);
    rejected(src, "blocked-call", 6, 32);
}

#[test]
fn rejects_process_and_network_calls() {
    let src = "int main() {\n    popen(\"id\", \"r\");\n    execvp(\"sh\", nullptr);\n    vfork();\n    socket(2, 1, 0);\n    dlopen(nullptr, 0);\n    ptrace(0, 0, 0, 0);\n}\n";
    for (line, column) in [(2, 5), (3, 5), (4, 5), (5, 5), (6, 5), (7, 5)] {
        rejected(src, "blocked-call", line, column);
    }
}

#[test]
fn rejects_blocked_headers_and_csignal() {
    let src = "#include <iostream>\n#include <csignal>\n#include <unistd.h>\n#include <sys/wait.h>\n#include <netinet/in.h>\n#include <arpa/inet.h>\n#include <dlfcn.h>\n#include <signal.h>\n";
    for line in 2..=8 {
        rejected(src, "blocked-header", line, 10);
    }
    assert_eq!(check(src).len(), 7);
}

#[test]
fn rejects_inline_asm() {
    let src = "asm(\"nop\");\nint main() {\n    asm(\"nop\");\n    __asm__ volatile(\"nop\");\n    asm volatile(\"nop\");\n}\n";
    rejected(src, "inline-asm", 1, 1);
    rejected(src, "inline-asm", 3, 5);
    rejected(src, "inline-asm", 4, 5);
    rejected(src, "inline-asm", 5, 5);
}

#[test]
fn rejects_aliasing_attributes() {
    rejected(
        "[[gnu::alias(\"system\")]] int f(const char *);\n",
        "blocked-attribute",
        1,
        8,
    );
    rejected(
        "static int f(const char *) __attribute__((weakref(\"system\")));\n",
        "blocked-attribute",
        1,
        43,
    );
}

#[test]
fn rejects_preprocessor_tricks() {
    rejected(
        "#define RUN std::system\nint main() { RUN(\"id\"); }\n",
        "blocked-macro",
        1,
        13,
    );
    rejected("#define CAT(a, b) a##b\n", "token-pasting", 1, 19);
    rejected("#include \"/etc/passwd\"\n", "blocked-header", 1, 10);
}

#[test]
fn rejects_blocked_call_inside_class_and_lambda() {
    let src = "#include <cstdlib>\nstruct Runner {\n    int go() { return std::system(\"id\"); }\n};\nint main() {\n    auto l = [] { return fork(); };\n    return Runner{}.go() + l();\n}\n";
    rejected(src, "blocked-call", 3, 28);
    rejected(src, "blocked-call", 6, 26);
}

// ---- accepted programs ----

#[test]
fn accepts_reading_input() {
    accepted("#include <iostream>\n#include <string>\n\nint main() {\n    std::ios::sync_with_stdio(false);\n    int n;\n    std::cin >> n;\n    std::string line;\n    std::getline(std::cin >> std::ws, line);\n    while (std::getline(std::cin, line)) std::cout << line << '\\n';\n    std::cout << n * 2 << std::endl;\n}\n");
}

#[test]
fn accepts_bits_stdcpp_competitive_style() {
    accepted("#include <bits/stdc++.h>\nusing namespace std;\n\ntypedef long long ll;\n\nint main() {\n    int n; cin >> n;\n    vector<ll> a(n);\n    for (auto &x : a) cin >> x;\n    sort(a.begin(), a.end());\n    ll sum = accumulate(a.begin(), a.end(), 0LL);\n    map<ll, int> freq;\n    for (ll x : a) freq[x]++;\n    priority_queue<int, vector<int>, greater<int>> pq;\n    pq.push(3);\n    cout << sum << ' ' << freq.size() << ' ' << pq.top() << '\\n';\n}\n");
}

#[test]
fn accepts_structured_bindings_optional_variant() {
    accepted("#include <iostream>\n#include <map>\n#include <optional>\n#include <variant>\n#include <string>\n\nstd::optional<int> parse(const std::string &s) {\n    try { return std::stoi(s); } catch (...) { return std::nullopt; }\n}\n\nint main() {\n    std::map<std::string, int> ages{{\"ada\", 36}, {\"alan\", 41}};\n    for (const auto &[name, age] : ages) std::cout << name << ' ' << age << '\\n';\n    std::variant<int, std::string> v = std::string(\"hi\");\n    std::visit([](auto &&x) { std::cout << x << '\\n'; }, v);\n    if (auto n = parse(\"42\"); n) std::cout << *n << '\\n';\n    if (auto [it, ok] = ages.insert({\"grace\", 85}); ok) std::cout << it->first << '\\n';\n}\n");
}

#[test]
fn accepts_templates_and_constexpr() {
    accepted("#include <iostream>\n#include <type_traits>\n#include <array>\n\ntemplate <typename T, std::size_t N>\nconstexpr T sum(const std::array<T, N> &a) {\n    T s{};\n    for (auto x : a) s += x;\n    return s;\n}\n\ntemplate <typename... Ts>\nauto total(Ts... xs) { return (xs + ... + 0); }\n\ntemplate <typename T>\nstd::enable_if_t<std::is_integral_v<T>, T> twice(T x) { return 2 * x; }\n\nint main() {\n    constexpr std::array<int, 3> a{1, 2, 3};\n    static_assert(sum(a) == 6);\n    std::cout << total(1, 2, 3) << ' ' << twice(21) << '\\n';\n}\n");
}

#[test]
fn accepts_classes_inheritance_and_smart_pointers() {
    accepted("#include <iostream>\n#include <memory>\n#include <vector>\n\nclass Shape {\npublic:\n    virtual ~Shape() = default;\n    virtual double area() const = 0;\n};\n\nclass Square : public Shape {\n    double side;\npublic:\n    explicit Square(double s) : side(s) {}\n    double area() const override { return side * side; }\n};\n\nint main() {\n    std::vector<std::unique_ptr<Shape>> shapes;\n    shapes.push_back(std::make_unique<Square>(3));\n    auto shared = std::make_shared<Square>(2);\n    for (const auto &s : shapes) std::cout << s->area() << '\\n';\n    std::cout << shared->area() << '\\n';\n}\n");
}

#[test]
fn accepts_lambdas_algorithms_and_std_bind() {
    accepted("#include <algorithm>\n#include <functional>\n#include <iostream>\n#include <numeric>\n#include <vector>\n\nint add(int a, int b) { return a + b; }\n\nint main() {\n    std::vector<int> v(10);\n    std::iota(v.begin(), v.end(), 1);\n    int k = 3;\n    auto divisible = [k](int x) { return x % k == 0; };\n    auto n = std::count_if(v.begin(), v.end(), divisible);\n    auto add5 = std::bind(add, std::placeholders::_1, 5);\n    std::function<int(int)> f = [&](int x) { return add5(x) * 2; };\n    std::transform(v.begin(), v.end(), v.begin(), f);\n    std::cout << n << ' ' << v.back() << '\\n';\n}\n");
}

#[test]
fn accepts_names_that_merely_look_blocked() {
    accepted("#include <iostream>\n#include <string>\n\nstruct Fork { int system = 0; void fork() {} };\n\nnamespace graph { void connect(int, int) {} }\n\nint main() {\n    int system_count = 0;\n    Fork f;\n    f.fork();\n    f.system = system_count;\n    graph::connect(1, 2);\n    // std::system(\"ls\") would be rejected; this is a comment\n    std::string s = \"system(\\\"rm -rf /\\\") fork() execvp\";\n    std::cout << s << f.system << '\\n';\n}\n");
}

#[test]
fn accepts_strings_streams_and_containers() {
    accepted("#include <iostream>\n#include <sstream>\n#include <unordered_map>\n#include <set>\n#include <deque>\n#include <iomanip>\n\nint main() {\n    std::istringstream in(\"a b a c\");\n    std::unordered_map<std::string, int> count;\n    for (std::string w; in >> w;) ++count[w];\n    std::set<std::string> keys;\n    for (auto &[k, v] : count) keys.insert(k);\n    std::deque<int> d{1, 2, 3};\n    d.push_front(0);\n    std::cout << std::fixed << std::setprecision(2) << 3.14159 << ' ' << keys.size() << ' ' << d.front() << '\\n';\n}\n");
}

#[test]
fn accepts_math_and_numeric_limits() {
    accepted("#include <cmath>\n#include <cstdio>\n#include <limits>\n#include <cstdint>\n\nint main() {\n    double r = std::sqrt(2.0) * std::pow(2.0, 10) + std::abs(-1.5);\n    std::int64_t big = std::numeric_limits<std::int32_t>::max();\n    std::printf(\"%.3f %lld\\n\", r, static_cast<long long>(big + 1));\n    std::printf(\"%.2f\\n\", std::hypot(3.0, 4.0));\n}\n");
}

#[test]
fn accepts_operator_overloading_and_namespaces() {
    accepted("#include <iostream>\n\nnamespace geo {\nstruct Vec2 {\n    double x, y;\n    Vec2 operator+(const Vec2 &o) const { return {x + o.x, y + o.y}; }\n    bool operator==(const Vec2 &o) const { return x == o.x && y == o.y; }\n};\nstd::ostream &operator<<(std::ostream &os, const Vec2 &v) { return os << '(' << v.x << \", \" << v.y << ')'; }\n}\n\nint main() {\n    using geo::Vec2;\n    Vec2 a{1, 2}, b{3, 4};\n    std::cout << a + b << ' ' << (a == b) << '\\n';\n}\n");
}

#[test]
fn accepts_the_samples() {
    for sample in Cpp::samples() {
        accepted(&sample.source);
    }
}

// ---- settings ----

#[test]
fn operator_can_allow_functions_and_headers() {
    let src =
        "#include <csignal>\n#include <cstdlib>\nint main() { return std::system(\"true\"); }\n";
    assert_eq!(check(src).len(), 2);
    let settings =
        Settings::from_pairs(&[("allow-functions", "system"), ("allow-headers", "csignal")]);
    assert!(Cpp::validate(src, &settings).is_empty());
}

#[test]
fn operator_can_disable_rules() {
    let src = "#define CAT(a, b) a##b\n";
    assert_eq!(check(src)[0].rule, "token-pasting");
    let settings = Settings::from_pairs(&[("disable-rules", "token-pasting")]);
    assert!(Cpp::validate(src, &settings).is_empty());
}

#[test]
fn rejects_system_through_a_namespace_alias() {
    rejected(
        "#include <cstdlib>\nnamespace s = std;\nint main() { s::system(\"id\"); }\n",
        "blocked-call",
        3,
        17,
    );
}

#[test]
fn rejects_renaming_pragmas_and_other_includes() {
    rejected(
        "int my(const char *);\n#pragma redefine_extname my system\n",
        "blocked-pragma",
        2,
        9,
    );
    rejected("#include_next <csignal>\n", "blocked-header", 1, 1);
}

#[test]
fn a_variable_named_like_a_blocked_function_is_a_variable() {
    let everyday = "#include <iostream>\n#include <string>\nint main() {\n    std::string system = \"linux\";\n    std::cout << system << std::endl;\n    int fork = 2;\n    fork += 1;\n    std::cout << fork + 1 << std::endl;\n    return 0;\n}\n";
    accepted(everyday);
    // The function itself, called or taken, is still refused, also beside a
    // variable of the same name in another function.
    let calls = "#include <cstdlib>\nvoid f() { int system = 1; (void)system; }\nint main() {\n    void *p = (void *)system;\n    return std::system(\"id\") + system(\"id\");\n}\n";
    let rules: Vec<(String, u32, u32)> = check(calls)
        .into_iter()
        .map(|d| (d.rule, d.line, d.column))
        .collect();
    assert!(
        rules.iter().any(|(_, l, c)| (*l, *c) == (4, 23)),
        "{rules:?}"
    );
    assert!(rules.iter().any(|(_, l, _)| *l == 5), "{rules:?}");
}
