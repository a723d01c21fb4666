//! Sample programs with their expected output, for `codr plugin check`.

use codr_sdk::Sample;

const HELLO: &str = r#"public class Main {
    public static void main(String[] args) {
        System.out.println("Hello, World!");
    }
}
"#;

const RECORDS_AND_STREAMS: &str = r#"import java.util.*;
import java.util.stream.*;

public class Grades {
    record Student(String name, int score) {}

    public static void main(String[] args) {
        List<Student> students = List.of(
            new Student("Ada", 92), new Student("Linus", 78),
            new Student("Grace", 85), new Student("Alan", 92));
        Map<Boolean, List<String>> passed = students.stream()
            .collect(Collectors.partitioningBy(s -> s.score() >= 80,
                Collectors.mapping(Student::name, Collectors.toList())));
        System.out.println("passed: " + passed.get(true));
        System.out.println("failed: " + passed.get(false));
        double average = students.stream().mapToInt(Student::score).average().orElse(0);
        System.out.println("average: " + average);
        String top = students.stream()
            .sorted(Comparator.comparingInt(Student::score).reversed()
                .thenComparing(Student::name))
            .limit(2)
            .map(Student::name)
            .collect(Collectors.joining(", "));
        System.out.println("top: " + top);
    }
}
"#;

const INTERACTIVE: &str = r#"import java.util.Scanner;

public class Greeter {
    public static void main(String[] args) {
        Scanner in = new Scanner(System.in);
        System.out.print("What is your name? ");
        String name = in.nextLine().trim();
        System.out.print("How many numbers? ");
        int count = in.nextInt();
        long sum = 0;
        for (int i = 0; i < count; i++) {
            sum += in.nextLong();
        }
        System.out.println("Hello, " + name + "! The sum is " + sum + ".");
    }
}
"#;

/// Anonymous and local classes: javac writes `Main$1.class` and the like,
/// which only the whole output directory carries to the run step.
const ANONYMOUS: &str = r#"import java.util.*;

public class Shapes {
    interface Shape { double area(); }

    public static void main(String[] args) {
        Shape square = new Shape() {
            public double area() { return 4.0; }
        };
        class Circle implements Shape {
            public double area() { return 3.0; }
        }
        Comparator<String> byLength = new Comparator<String>() {
            public int compare(String a, String b) { return a.length() - b.length(); }
        };
        List<String> words = new ArrayList<>(List.of("ccc", "a", "bb"));
        words.sort(byLength);
        System.out.println(square.area() + new Circle().area() + " " + words);
    }
}
"#;

/// The samples: hello world, records and streams, anonymous classes, and a
/// program that reads its input with `Scanner`.
pub fn samples() -> Vec<Sample> {
    vec![
        Sample::new("hello-world", HELLO, "Hello, World!\n"),
        Sample::new(
            "records-and-streams",
            RECORDS_AND_STREAMS,
            "passed: [Ada, Grace, Alan]\nfailed: [Linus]\naverage: 86.75\ntop: Ada, Alan\n",
        ),
        Sample::new("anonymous-classes", ANONYMOUS, "7.0 [a, bb, ccc]\n"),
        Sample::new(
            "scanner-input",
            INTERACTIVE,
            "What is your name? How many numbers? Hello, Ada! The sum is 42.\n",
        )
        .stdin("Ada\n3\n10 20 12\n"),
    ]
}
