//! Java programs shared by the rule tests and the javac test. Each program's
//! public class is named like the program, so all of them compile together.
//! Positions in `expected` were counted by hand from the source text.
#![allow(dead_code)]

/// One test program.
pub struct Program {
    pub name: &'static str,
    pub source: &'static str,
    /// `(rule, line, column)` of each expected diagnostic, in source order.
    pub expected: &'static [(&'static str, u32, u32)],
}

const BI: &str = "blocked-import";
const BC: &str = "blocked-class";
const NM: &str = "native-method";

/// Programs the rules reject.
pub const REJECTED: &[Program] = &[
    Program {
        name: "ImportFile",
        source: r#"import java.io.File;
public class ImportFile {
    public static void main(String[] args) {
        System.out.println(new File("x").exists());
    }
}
"#,
        expected: &[(BI, 1, 8)],
    },
    Program {
        name: "ImportNetWildcard",
        source: r#"import java.util.*;
import java.net.*;
public class ImportNetWildcard {
    public static void main(String[] args) throws Exception {
        URL u = new URL("http://example.com");
        System.out.println(u.getHost());
    }
}
"#,
        expected: &[(BI, 2, 8)],
    },
    Program {
        name: "StaticGetenv",
        source: r#"import static java.lang.System.getenv;
public class StaticGetenv {
    public static void main(String[] args) {
        System.out.println(getenv("HOME"));
    }
}
"#,
        expected: &[(BI, 1, 15)],
    },
    Program {
        name: "ManyImports",
        source: r#"import java.nio.file.Files;
import java.nio.file.Path;
import java.lang.reflect.Method;
import sun.misc.Unsafe;
import javax.script.ScriptEngineManager;
import static java.lang.ProcessBuilder.Redirect.INHERIT;
public class ManyImports {
    public static void main(String[] args) {
        System.out.println("imports only");
    }
}
"#,
        expected: &[
            (BI, 1, 8),
            (BI, 2, 8),
            (BI, 3, 8),
            (BI, 4, 8),
            (BI, 5, 8),
            (BI, 6, 15),
        ],
    },
    Program {
        name: "RuntimeExec",
        source: r#"public class RuntimeExec {
    public static void main(String[] args) throws Exception {
        Process p = Runtime.getRuntime().exec(new String[] {"ls", "/"});
        System.out.println(p.waitFor());
    }
}
"#,
        expected: &[(BC, 3, 21)],
    },
    Program {
        name: "ProcessBuilderStart",
        source: r#"public class ProcessBuilderStart {
    public static void main(String[] args) throws Exception {
        var pb = new ProcessBuilder("sh", "-c", "id");
        pb.inheritIO().start().waitFor();
        ProcessHandle.current().pid();
    }
}
"#,
        expected: &[(BC, 3, 22), (BC, 5, 9)],
    },
    Program {
        name: "Environment",
        source: r#"public class Environment {
    public static void main(String[] args) {
        String home = System.getenv("HOME");
        System.setProperty("user.dir", "/");
        System.loadLibrary("evil");
        java.util.function.Function<String, String> f = System::getenv;
        System.out.println(home + f.apply("PATH"));
    }
}
"#,
        expected: &[(BC, 3, 23), (BC, 4, 9), (BC, 5, 9), (BC, 6, 57)],
    },
    Program {
        name: "Reflection",
        source: r#"public class Reflection {
    private String secret = "s";
    public static void main(String[] args) throws Exception {
        var field = Reflection.class.getDeclaredField("secret");
        field.setAccessible(true);
        Class<?> c = Class.forName("java.lang.Runtime");
        System.out.println(c.getMethods().length + " " + field.get(new Reflection()));
    }
}
"#,
        expected: &[(BC, 4, 38), (BC, 5, 15), (BC, 6, 22), (BC, 7, 30)],
    },
    Program {
        name: "QualifiedNames",
        source: r#"public class QualifiedNames {
    public static void main(String[] args) throws Exception {
        java.io.File f = new java.io.File("/etc/passwd");
        try (var s = new java.net.Socket("example.com", 80)) {
            System.out.println(f.exists() + " " + s.isConnected());
        }
        java.nio.file.Files.readAllLines(java.nio.file.Path.of("x"));
    }
}
"#,
        expected: &[
            (BC, 3, 9),
            (BC, 3, 30),
            (BC, 4, 26),
            (BC, 7, 9),
            (BC, 7, 42),
        ],
    },
    Program {
        name: "NativeMethod",
        source: r#"public class NativeMethod {
    static native int getpid();
    public static void main(String[] args) {
        System.out.println(getpid());
    }
}
"#,
        expected: &[(NM, 2, 12)],
    },
    Program {
        name: "JavaIoWildcardFiles",
        source: r#"import java.io.*;
public class JavaIoWildcardFiles {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new FileReader("/etc/passwd"));
        System.out.println(in.readLine());
        new FileOutputStream(new File("out.txt")).close();
    }
}
"#,
        expected: &[(BC, 4, 52), (BC, 6, 13), (BC, 6, 34)],
    },
    Program {
        name: "UnicodeEscapeTricks",
        source: r#"public class UnicodeEscapeTricks {
    public static void main(String[] args) throws Exception {
        \u0052untime.getRuntime().exec("id");
        String s = "\u0022; Runtime.getRuntime().exec(\u0022id\u0022); String t = \u0022";
        // a comment? \u000a Runtime.getRuntime().exec("id");
        System.out.println(s);
    }
}
"#,
        expected: &[(BC, 3, 9), (BC, 4, 29), (BC, 5, 30)],
    },
    Program {
        name: "HiddenCharacters",
        source: "public class HiddenCharacters {
    public static void main(String[] args) throws Exception {
        Run\\u200Btime.getRuntime().availableProcessors();
        java . lang . /* look away */ Runtime . getRuntime();
        Run\u{200b}time.getRuntime().gc();
    }
}
",
        expected: &[(BC, 3, 9), (BC, 4, 9), (BC, 5, 9)],
    },
    Program {
        name: "StaticWildcardSystem",
        source: r#"import static java.lang.System.*;
public class StaticWildcardSystem {
    public static void main(String[] args) {
        out.println(getenv("PATH"));
        loadLibrary("x");
    }
}
"#,
        expected: &[(BC, 4, 21), (BC, 5, 9)],
    },
    Program {
        name: "ClassLoaders",
        source: r#"public class ClassLoaders {
    public static void main(String[] args) throws Exception {
        ClassLoader l = Thread.currentThread().getContextClassLoader();
        Object o = ClassLoaders.class.getClassLoader();
        System.out.println(l + " " + o);
    }
}
"#,
        expected: &[(BC, 3, 9), (BC, 3, 48), (BC, 4, 39)],
    },
    Program {
        name: "InternalPackages",
        source: r#"public class InternalPackages {
    public static void main(String[] args) throws Exception {
        Object u = sun.misc.Unsafe.class;
        Object m = java.lang.invoke.MethodHandles.lookup();
        Object e = new javax.script.ScriptEngineManager();
        Object x = new com.sun.security.auth.module.UnixSystem();
        System.out.println(u + " " + m + e + x);
    }
}
"#,
        expected: &[(BC, 3, 20), (BC, 4, 20), (BC, 5, 24), (BC, 6, 24)],
    },
    Program {
        name: "SpacedImport",
        source: r#"import java . /* hi */ net . Socket;
public class SpacedImport {
    public static void main(String[] args) {
        java.util.function.Supplier<Runtime> r = Runtime::getRuntime;
        System.out.println(r.get().availableProcessors());
    }
}
"#,
        expected: &[(BI, 1, 8), (BC, 4, 37), (BC, 4, 50)],
    },
];

/// Ordinary programs the rules accept.
pub const ACCEPTED: &[Program] = &[
    Program {
        name: "ScannerSum",
        source: r#"import java.util.Scanner;

public class ScannerSum {
    public static void main(String[] args) {
        Scanner sc = new Scanner(System.in);
        int n = sc.nextInt();
        long total = 0;
        for (int i = 0; i < n; i++) total += sc.nextLong();
        System.out.println(total);
        System.exit(0);
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "BufferedInput",
        source: r#"import java.io.*;
import java.util.*;

public class BufferedInput {
    public static void main(String[] args) throws IOException {
        BufferedReader br = new BufferedReader(new InputStreamReader(System.in));
        PrintWriter out = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out)));
        StringTokenizer st = new StringTokenizer(br.readLine());
        int a = Integer.parseInt(st.nextToken());
        out.println(a * 2);
        out.flush();
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "RecordsStreams",
        source: r#"import java.util.*;
import java.util.stream.*;

public class RecordsStreams {
    record Point(int x, int y) {
        Point {
            if (x < 0) throw new IllegalArgumentException("x");
        }
        double length() { return Math.sqrt(x * x + y * y); }
    }

    public static void main(String[] args) {
        List<Point> points = IntStream.rangeClosed(1, 5)
            .mapToObj(i -> new Point(i, i * i))
            .collect(Collectors.toList());
        Map<Boolean, Long> even = points.stream()
            .collect(Collectors.partitioningBy(p -> p.y() % 2 == 0, Collectors.counting()));
        System.out.println(points.get(0) + " " + even);
        System.out.println(String.format("%.3f", points.get(1).length()));
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "SwitchAndVar",
        source: r#"import java.util.*;

public class SwitchAndVar {
    enum Day { MON, TUE, SAT, SUN }

    sealed interface Shape permits Circle, Square {}
    record Circle(double r) implements Shape {}
    record Square(double side) implements Shape {}

    static double area(Shape s) {
        if (s instanceof Circle c) return Math.PI * c.r() * c.r();
        if (s instanceof Square q) return q.side() * q.side();
        throw new IllegalStateException();
    }

    public static void main(String[] args) {
        var day = Day.SAT;
        var kind = switch (day) {
            case SAT, SUN -> "weekend";
            default -> {
                String w = "week" + "day";
                yield w;
            }
        };
        System.out.println(kind + " " + area(new Square(2)));
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "TextBlocks",
        source: r#"public class TextBlocks {
    public static void main(String[] args) {
        String doc = """
            Do not call Runtime.getRuntime().exec("rm -rf /") or
            new ProcessBuilder("sh") or System.getenv("HOME");
            import java.net.Socket; native "quotes" \""" inside
            """;
        String s = "java.io.File and Class.forName(\"x\") and \\u0052untime";
        char c = '\u0041';
        System.out.println(doc + s + c);
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "GenericsAndInterfaces",
        source: r#"import java.util.*;
import java.util.function.*;

public class GenericsAndInterfaces {
    interface Stack<T> extends Iterable<T> {
        void push(T item);
        T pop();
        default boolean isEmpty() { return !iterator().hasNext(); }
    }

    static final class ArrayStack<T> implements Stack<T> {
        private final Deque<T> items = new ArrayDeque<>();
        public void push(T item) { items.push(item); }
        public T pop() { return items.pop(); }
        public Iterator<T> iterator() { return items.iterator(); }
    }

    static <T extends Comparable<? super T>> T max(Collection<? extends T> xs) {
        return Collections.max(xs);
    }

    public static void main(String[] args) {
        Stack<String> s = new ArrayStack<>();
        s.push("a");
        s.push("b");
        BiFunction<Integer, Integer, Integer> add = Integer::sum;
        System.out.println(s.pop() + max(List.of(3, 9, 4)) + add.apply(1, 2) + s.isEmpty());
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "LambdasCollections",
        source: r#"import java.util.*;
import java.util.stream.Collectors;

public class LambdasCollections {
    public static void main(String[] args) {
        Map<String, Integer> counts = new TreeMap<>();
        for (String w : "the cat and the hat".split(" ")) counts.merge(w, 1, Integer::sum);
        List<Integer> nums = new ArrayList<>(List.of(5, 3, 8, 1));
        nums.sort(Comparator.reverseOrder());
        nums.removeIf(n -> n < 2);
        Set<Character> letters = "hello".chars().mapToObj(c -> (char) c).collect(Collectors.toSet());
        Optional<String> longest = counts.keySet().stream().max(Comparator.comparingInt(String::length));
        System.out.println(counts + " " + nums + " " + letters.size() + " " + longest.orElse(""));
        System.out.println(Math.max(Math.abs(-3), Math.floorMod(-7, 3)) + " " + Math.pow(2, 10));
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "NamesLikeBlocked",
        source: r#"public class NamesLikeBlocked {
    // Runtime.getRuntime().exec("x"), ProcessBuilder, System.getenv, native
    /* import java.net.Socket; Class.forName("x"); sun.misc.Unsafe */
    static int exec(int load) { return load * 2; }
    static String runtime = "Runtime";
    static int loadLibrary = 3;

    static class Loader {
        String getenv(String key) { return key; }
        int forName = 1;
    }

    public static void main(String[] args) {
        int nativeCount = exec(loadLibrary);
        Loader loader = new Loader();
        String file = "File";
        RuntimeException e = new RuntimeException(runtime);
        System.out.println(nativeCount + loader.getenv("HOME") + loader.forName + file + e.getMessage());
        System.out.println(java.util.List.of(1, 2) + " " + java.time.LocalDate.of(2024, 1, 2));
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "ThreadsAndTime",
        source: r#"import java.util.concurrent.*;
import java.util.concurrent.atomic.AtomicInteger;

public class ThreadsAndTime {
    public static void main(String[] args) throws Exception {
        AtomicInteger counter = new AtomicInteger();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        for (int i = 0; i < 4; i++) pool.submit(counter::incrementAndGet);
        pool.shutdown();
        pool.awaitTermination(5, TimeUnit.SECONDS);
        Thread t = new Thread(() -> System.out.println("worker"));
        t.start();
        t.join();
        long start = System.nanoTime();
        System.out.println(counter.get() + " " + (System.currentTimeMillis() > 0) + " " + (System.nanoTime() >= start));
        System.out.println(System.getProperty("line.separator").length() + " " + System.lineSeparator().length());
        System.err.println("done");
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "ExceptionsAndCharsets",
        source: r#"import java.io.IOException;
import java.io.FileNotFoundException;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.math.BigInteger;

public class ExceptionsAndCharsets {
    public static void main(String[] args) throws IOException {
        Charset utf8 = Charset.forName("UTF-8");
        byte[] bytes = "héllo".getBytes(StandardCharsets.UTF_8);
        BigInteger f = BigInteger.ONE;
        for (int i = 2; i <= 30; i++) f = f.multiply(BigInteger.valueOf(i));
        try {
            throw new FileNotFoundException("not really");
        } catch (FileNotFoundException e) {
            System.out.println(e.getMessage() + " " + utf8 + " " + bytes.length + " " + f);
        }
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "PackageDeclared",
        source: r#"package demo.app;

import java.util.*;

@SuppressWarnings("unchecked")
public final class PackageDeclared {
    @FunctionalInterface
    interface Op { int apply(int a, int b); }

    public static void main(final String... args) {
        Op mul = (a, b) -> a * b;
        int[] arr = {3, 1, 2};
        Arrays.sort(arr);
        System.out.println(mul.apply(6, 7) + Arrays.toString(arr));
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "StaticImportsOk",
        source: r#"import static java.lang.Math.*;
import static java.lang.System.out;

public class StaticImportsOk {
    public static void main(String[] args) {
        out.println(max(abs(-4), (int) sqrt(16)) + " " + PI);
    }
}
"#,
        expected: &[],
    },
    Program {
        name: "ModernSyntax",
        source: r#"import java.util.*;
import java.util.function.*;
import java.util.stream.*;

public class ModernSyntax {
    enum Op {
        ADD("+") { int apply(int a, int b) { return a + b; } },
        MUL("*") { int apply(int a, int b) { return a * b; } };

        final String symbol;
        Op(String symbol) { this.symbol = symbol; }
        abstract int apply(int a, int b);
    }

    interface Greeter {
        String name();
        default String greet() { return "Hello, " + name() + "!"; }
        static Greeter of(String n) { return () -> n; }
    }

    class Inner { int twice(int x) { return x << 1; } }

    @SafeVarargs
    static <T extends Comparable<T>> List<T> sorted(T... items) {
        List<T> list = new ArrayList<>(Arrays.asList(items));
        Collections.sort(list);
        return list;
    }

    public static void main(String[] args) throws Exception {
        record Pair<A, B>(A first, B second) {}
        Map<String, List<Integer>> groups = new TreeMap<>();
        groups.computeIfAbsent("even", k -> new ArrayList<>()).add(0b1010);
        groups.computeIfAbsent("odd", k -> new ArrayList<>()).add(0x1F + 1_000);
        int[][] grid = new int[3][4];
        outer:
        for (int i = 0; i < grid.length; i++) {
            for (int j = 0; j < grid[i].length; j++) {
                if (i * j > 2) break outer;
                grid[i][j] = i + j;
            }
        }
        String text = """
            Runtime.getRuntime() stays text, \
            and so does "System.getenv".\s
            """;
        Object o = new Pair<>("x", 2);
        if (o instanceof Pair<?, ?> p && p.second() instanceof Integer n) {
            System.out.println(p.first() + " " + n);
        }
        String kind = switch (args.length) {
            case 0 -> "none";
            case 1, 2 -> "few";
            default -> { yield "many"; }
        };
        StringBuilder sb = new StringBuilder();
        char c = 'a';
        do { sb.append(c++); } while (c <= 'e');
        BiFunction<Integer, Integer, Integer> f = (var a, var b) -> a * b;
        String[] words = Stream.of("b", "a", "c").toArray(String[]::new);
        List<String> empty = Collections.<String>emptyList();
        ModernSyntax outerObject = new ModernSyntax();
        ModernSyntax.Inner inner = outerObject.new Inner();
        final var total = IntStream.of(grid[1]).sum();
        assert total >= 0 : "never";
        synchronized (groups) {
            System.out.println(groups + " " + kind + " " + sb + " " + f.apply(6, 7));
        }
        try (Scanner in = new Scanner(System.in)) {
            System.out.println(in.hasNextLine() ? in.nextLine() : "caf\u00e9 " + '\u0041');
        }
        System.out.println(text.strip() + Op.ADD.apply(2, 3) + Op.MUL.symbol + sorted(3, 1, 2)
            + Arrays.toString(words) + empty.size() + inner.twice(21) + Greeter.of("Ada").greet()
            + (total > 5 ? 1L : 2.5f) + Optional.ofNullable((String) null).map(String::length).orElse(-1));
    }
}
"#,
        expected: &[],
    },
];
