// Embedded migrations are read at compile time; make cargo notice new ones.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
