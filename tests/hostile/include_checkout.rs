const SECRET: &str = include_str!("/work/main/Cargo.toml");
fn main() { println!("{}", SECRET); }
