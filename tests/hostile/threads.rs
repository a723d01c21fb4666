use std::thread;
fn main() {
    let handles: Vec<_> = (0..32)
        .map(|_| thread::spawn(|| { let mut x: u64 = 0; loop { x = x.wrapping_add(1); std::hint::black_box(x); } }))
        .collect();
    println!("spawned {}", handles.len());
    for h in handles { let _ = h.join(); }
}
