//! The samples `codr plugin check` builds and runs in the sandbox.

use codr_sdk::Sample;

/// Hello world, stdin through `bufio.Scanner`, goroutines with channels,
/// and generics.
pub fn samples() -> Vec<Sample> {
    vec![
        Sample::new("hello", HELLO, "Hello, World!\n"),
        Sample::new("scanner-sum", SCANNER, "3 numbers, sum 60\n").stdin("10\n20\n30\n"),
        Sample::new("goroutines", GOROUTINES, "sum of squares 1..10 = 385\n"),
        Sample::new("generics", GENERICS, "[2 4 6]\n[a! b!]\n6\n"),
    ]
}

const HELLO: &str = r#"package main

import "fmt"

func main() {
	fmt.Println("Hello, World!")
}
"#;

const SCANNER: &str = r#"package main

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

func main() {
	scanner := bufio.NewScanner(os.Stdin)
	count, sum := 0, 0
	for scanner.Scan() {
		n, err := strconv.Atoi(strings.TrimSpace(scanner.Text()))
		if err != nil {
			continue
		}
		count++
		sum += n
	}
	fmt.Printf("%d numbers, sum %d\n", count, sum)
}
"#;

const GOROUTINES: &str = r#"package main

import (
	"fmt"
	"sync"
)

func main() {
	jobs := make(chan int)
	results := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := range jobs {
				results <- n * n
			}
		}()
	}
	go func() {
		for i := 1; i <= 10; i++ {
			jobs <- i
		}
		close(jobs)
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	total := 0
	for r := range results {
		total += r
	}
	fmt.Println("sum of squares 1..10 =", total)
}
"#;

const GENERICS: &str = r#"package main

import "fmt"

type Number interface {
	~int | ~int64 | ~float64
}

func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}

func Sum[T Number](xs []T) T {
	var total T
	for _, x := range xs {
		total += x
	}
	return total
}

func main() {
	fmt.Println(Map([]int{1, 2, 3}, func(n int) int { return n * 2 }))
	fmt.Println(Map([]string{"a", "b"}, func(s string) string { return s + "!" }))
	fmt.Println(Sum([]int{1, 2, 3}))
}
"#;
