use std::collections::HashMap;
use std::fmt;
use std::io::{self, BufRead};

#[derive(Debug, Clone, PartialEq)]
struct Point_N {
    x: f64,
    y: f64,
    label: String,
}

impl fmt::Display for Point_N {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({:.2}, {:.2}) {}", self.x, self.y, self.label)
    }
}

trait Norm_N {
    fn norm(&self) -> f64;
}

impl Norm_N for Point_N {
    fn norm(&self) -> f64 {
        (self.x * self.x + self.y * self.y).sqrt()
    }
}

/// Reads points; "std::fs" in a string is fine.
fn solve_N<R: BufRead>(input: R) -> io::Result<usize> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut pts = Vec::new();
    for line in input.lines() {
        let line = line?;
        let parts: Vec<&str> = line.split_whitespace().collect();
        if parts.len() < 3 {
            continue;
        }
        let p = Point_N { x: parts[0].parse().unwrap_or(0.0), y: parts[1].parse().unwrap_or(0.0), label: parts[2].to_string() };
        *counts.entry(p.label.clone()).or_insert(0) += 1;
        pts.push(p);
    }
    pts.sort_by(|a, b| a.norm().partial_cmp(&b.norm()).unwrap());
    let best = pts.iter().map(|p| p.norm()).fold(f64::MAX, f64::min);
    println!("{} points, best {best:.3}, {:?}", pts.len(), counts.len());
    Ok(pts.len())
}

