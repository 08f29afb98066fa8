//! The `randapi` binary: see the library for everything it does.

fn main() -> std::process::ExitCode {
    randapi::cli::main()
}
