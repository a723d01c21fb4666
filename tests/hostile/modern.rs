use std::collections::HashMap;
fn main() {
    let words = ["a", "b", "a"];
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for w in words { *counts.entry(w).or_default() += 1; }
    let arr = [1, 2, 3].map(|x| x * 2);
    let name = "rust2021";
    println!("{name} {} {:?}", counts["a"], arr);
}
