//! The `process_*` family that every Prometheus client library exports, under the same names and
//! without Mercato's prefix, so that standard dashboards and alerts find them: CPU time, resident
//! and virtual memory, open and maximum file descriptors, and the start time.
//!
//! Read from `/proc` at each scrape (a few small files, well under a millisecond); on a system
//! without `/proc` nothing is written, and a figure that cannot be read is left out rather than
//! reported as 0.

use std::fmt::Write as _;

/// Ticks per second of the CPU times and start time in `/proc/<pid>/stat`: `USER_HZ`, which Linux
/// fixes at 100 for user space on every architecture Mercato is built for. Prometheus's own
/// procfs reader uses the same constant; `sysconf(_SC_CLK_TCK)` would need `unsafe` for it.
const USER_HZ: f64 = 100.0;

/// One figure of the family.
struct Sample {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    value: f64,
}

/// Appends the family, as Prometheus text, to `out`.
pub fn render(out: &mut String) {
    for sample in read() {
        // Writing to a String cannot fail.
        let _ = write!(
            out,
            "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n\n",
            name = sample.name,
            help = sample.help,
            kind = sample.kind,
            value = sample.value,
        );
    }
}

// Long on purpose: it lists the six families of the standard set, one `push` each.
fn read() -> Vec<Sample> {
    let file = |path: &str| std::fs::read_to_string(path).ok();
    let stat = file("/proc/self/stat").as_deref().and_then(parse_stat);
    let boot_time = file("/proc/stat").as_deref().and_then(parse_boot_time);
    let resident_kib = file("/proc/self/status")
        .as_deref()
        .and_then(|s| status_kib(s, "VmRSS"));
    let max_fds = file("/proc/self/limits")
        .as_deref()
        .and_then(parse_max_open_files);
    // The count includes the descriptor that reads the directory, as other clients' does.
    let open_fds = std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as f64);

    let mut samples = Vec::with_capacity(6);
    let mut push = |name, kind, help, value: Option<f64>| {
        if let Some(value) = value {
            samples.push(Sample {
                name,
                kind,
                help,
                value,
            });
        }
    };
    push(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        stat.as_ref()
            .map(|s| (s.user_ticks + s.system_ticks) as f64 / USER_HZ),
    );
    push(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        resident_kib.map(|kib| kib as f64 * 1024.0),
    );
    push(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        stat.as_ref().map(|s| s.virtual_bytes as f64),
    );
    push(
        "process_open_fds",
        "gauge",
        "Number of open file descriptors.",
        open_fds,
    );
    push(
        "process_max_fds",
        "gauge",
        "Maximum number of open file descriptors.",
        max_fds.map(|n| n as f64),
    );
    push(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        stat.zip(boot_time)
            .map(|(s, boot)| boot as f64 + s.start_ticks as f64 / USER_HZ),
    );
    samples
}

/// The fields of `/proc/<pid>/stat` this module reports.
#[derive(Debug, PartialEq)]
struct Stat {
    user_ticks: u64,
    system_ticks: u64,
    /// Since boot.
    start_ticks: u64,
    virtual_bytes: u64,
}

/// Parses `/proc/<pid>/stat`: `pid (comm) state ppid …`, where `comm` may hold spaces and
/// parentheses, so the fields are counted from the last `)`.
fn parse_stat(text: &str) -> Option<Stat> {
    let (_, rest) = text.rsplit_once(')')?;
    // Field 3 (state) is the first after the command; proc(5) numbers them from 1.
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    Some(Stat {
        user_ticks: field(14)?,
        system_ticks: field(15)?,
        start_ticks: field(22)?,
        virtual_bytes: field(23)?,
    })
}

/// The boot time (`btime`, seconds since the epoch) from `/proc/stat`.
fn parse_boot_time(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

/// A `Name:   1234 kB` line of `/proc/<pid>/status`, in KiB.
fn status_kib(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse().ok())
}

/// The soft limit on open files from `/proc/<pid>/limits` (None when unlimited).
fn parse_max_open_files(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let text = "4242 (a (b) c) S 1 4242 4242 0 -1 4194560 1 0 0 0 250 70 0 0 20 0 9 0 \
                    123456 987654321 4000 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0";
        assert_eq!(
            parse_stat(text),
            Some(Stat {
                user_ticks: 250,
                system_ticks: 70,
                start_ticks: 123456,
                virtual_bytes: 987654321,
            })
        );
        assert_eq!(parse_stat("garbage"), None);
    }

    #[test]
    fn boot_time_resident_memory_and_the_file_limit_are_read_from_their_lines() {
        assert_eq!(
            parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Some(1_700_000_000)
        );
        assert_eq!(
            status_kib(
                "Name:\tmercato\nVmSize:\t  9000 kB\nVmRSS:\t   1234 kB\n",
                "VmRSS"
            ),
            Some(1234)
        );
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max cpu time              unlimited            unlimited            seconds   \n\
                      Max open files            1024                 524288               files     \n";
        assert_eq!(parse_max_open_files(limits), Some(1024));
        assert_eq!(
            parse_max_open_files("Max open files            unlimited            unlimited            files"),
            None
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn on_linux_every_figure_of_the_family_is_rendered_with_its_help() {
        let mut text = String::new();
        render(&mut text);
        for name in [
            "process_cpu_seconds_total",
            "process_resident_memory_bytes",
            "process_virtual_memory_bytes",
            "process_open_fds",
            "process_max_fds",
            "process_start_time_seconds",
        ] {
            assert!(text.contains(&format!("# HELP {name} ")), "{name}: {text}");
            let value: f64 = text
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{name} has a value: {text}"));
            assert!(
                value > 0.0 || name == "process_cpu_seconds_total",
                "{name} = {value}"
            );
        }
    }
}
