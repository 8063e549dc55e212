fn main() {
    println!("boltward {}", env!("CARGO_PKG_VERSION"));
}
