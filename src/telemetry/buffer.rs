//! Stdout behind one shared buffer: info and debug lines wait for 64 KiB or for the flusher
//! thread (every 100 ms); warnings and errors are written at once; [`super::flush`] at exit.

use std::io::{self, BufWriter, Stdout, Write};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;

/// How long an info line may wait in the buffer.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Buffer size; a full buffer is written out at once.
pub const BUFFER_BYTES: usize = 64 * 1024;

/// Stdout behind a shared buffer.
#[derive(Debug, Clone)]
pub struct BufferedStdout(Arc<Mutex<BufWriter<Stdout>>>);

impl BufferedStdout {
    /// The buffer, and a thread that writes it out every [`FLUSH_EVERY`]. If the thread cannot
    /// start, lines still go out when the buffer fills and at exit.
    pub fn with_flusher() -> Self {
        let stdout = Self(Arc::new(Mutex::new(BufWriter::with_capacity(
            BUFFER_BYTES,
            io::stdout(),
        ))));
        let flusher = stdout.clone();
        let _ = std::thread::Builder::new()
            .name("log-flush".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(FLUSH_EVERY);
                    let _ = flusher.lock().flush();
                }
            });
        stdout
    }

    /// The shared buffer itself, for writers that take the lock once per line.
    pub fn shared(&self) -> &Mutex<BufWriter<Stdout>> {
        &self.0
    }

    /// The buffer, even after a panic while it was held: a log line half-written then is better
    /// than no log at all.
    pub fn lock(&self) -> MutexGuard<'_, BufWriter<Stdout>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One log line's access to the buffer; warnings and errors flush it when done.
pub struct LineWriter<'a> {
    out: MutexGuard<'a, BufWriter<Stdout>>,
    flush: bool,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        if self.flush {
            let _ = self.out.flush();
        }
    }
}

impl<'a> MakeWriter<'a> for BufferedStdout {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            out: self.lock(),
            flush: true,
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        // In tracing, less verbose levels compare lower: WARN and ERROR are written at once.
        LineWriter {
            out: self.lock(),
            flush: *meta.level() <= Level::WARN,
        }
    }
}
