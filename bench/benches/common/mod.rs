//! What both benchmarks share: the functions' global allocator, and
//! criterion measuring this thread's CPU time instead of wall time.
//!
//! The machines this project is built on have two cores shared by several
//! developers' builds, tests and fuzzers. There a benchmark thread gets a
//! fraction of a core (perf stat showed 0.33 CPUs during one run), and wall
//! time counts the time it waited for the CPU; the thread's CPU time does
//! not. Lambda gives a function its share of a core for the whole
//! invocation, so CPU time is also the better model of what an event costs.

use cpu_time::ThreadTime;
use criterion::measurement::{Measurement, ValueFormatter, WallTime};
use std::fmt;
use std::time::Duration;

/// CPU time of the benchmarking thread (`CLOCK_THREAD_CPUTIME_ID`), in nanoseconds.
pub struct ThreadCpuTime {
    /// Only lends its duration formatting (ns, µs, ms).
    wall: WallTime,
}

impl Default for ThreadCpuTime {
    fn default() -> Self {
        ThreadCpuTime { wall: WallTime }
    }
}

impl fmt::Debug for ThreadCpuTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ThreadCpuTime")
    }
}

impl Measurement for ThreadCpuTime {
    type Intermediate = ThreadTime;
    type Value = Duration;

    fn start(&self) -> ThreadTime {
        ThreadTime::now()
    }

    fn end(&self, started: ThreadTime) -> Duration {
        started.elapsed()
    }

    fn add(&self, first: &Duration, second: &Duration) -> Duration {
        *first + *second
    }

    fn zero(&self) -> Duration {
        Duration::ZERO
    }

    fn to_f64(&self, value: &Duration) -> f64 {
        value.as_secs_f64() * 1e9
    }

    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}

/// The allocator every function binary uses (`functions/*/src/main.rs`), so
/// the benchmarks time the allocations as the functions make them.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
