//! Link the `ctrad` executable position-dependent on Linux (`-no-pie`): a
//! position-independent executable spends ~1–2 ms of every start applying
//! ~80 000 relocations, which is a visible share of a one-study run. The
//! library and the tests are unaffected.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
