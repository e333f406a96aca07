fn main() {
    println!("ctrad {}", ctrad::VERSION);
}
