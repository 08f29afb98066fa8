//! The `randapi` binary: see the library for everything it does.

/// mimalloc instead of the C library's allocator. Under load the tokio workers free on one
/// thread what another allocated; glibc then takes the other thread's arena lock (perf showed
/// one futex call per `GET /` from `realloc`/`free`), and musl (in the container until December
/// 2026) has one lock for the whole heap. mimalloc frees to per-thread pages without a lock. The
/// library leaves the choice to whoever links it; this binary makes it. Built without
/// transparent huge pages (`no_thp`): with them its arenas took whole 2 MiB pages, twice the
/// resident memory for no speed.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    randapi::cli::main()
}
