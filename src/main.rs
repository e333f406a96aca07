mod alloc;
mod cli;

#[global_allocator]
static GLOBAL: alloc::Allocator = alloc::Allocator;

fn main() {
    // dicom-rs builds its errors with snafu, which captures a stack trace in
    // every error value when RUST_LIB_BACKTRACE (else RUST_BACKTRACE) is 1 —
    // including the end-of-file condition of every DICOM file it parses, which
    // made series reading several times slower for users with
    // RUST_BACKTRACE=1. ctrad reports typed errors, never those traces, so
    // library traces are off unless asked for explicitly; panics still follow
    // RUST_BACKTRACE. Set before any thread starts.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        std::env::set_var("RUST_LIB_BACKTRACE", "0");
    }
    std::process::exit(cli::run());
}
