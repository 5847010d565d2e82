//! Reading `perf script` output in tests.

/// One line of `perf script -F comm,pid,tid,cpu,time,event,trace --ns`
/// (`--show-task-events` lines too: the event is then `PERF_RECORD_X`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Process id (thread-group id).
    pub pid: i32,
    /// Thread id.
    pub tid: i32,
    /// CPU.
    pub cpu: u32,
    /// Time in ns.
    pub ns: u64,
    /// `system:name`, or `PERF_RECORD_X`.
    pub event: String,
    /// What follows the event name.
    pub text: String,
}

/// Parses one line (`comm pid/tid [cpu] secs.ns: event: text`).
pub fn parse_line(l: &str) -> Line {
    let open = l.find(" [").unwrap_or_else(|| panic!("no CPU in {l:?}"));
    let close = open + l[open..].find("] ").unwrap();
    let ids = l[..open].split_whitespace().last().unwrap();
    let (pid, tid) = ids.split_once('/').unwrap();
    let cpu = l[open + 2..close].parse().unwrap();
    let rest = l[close + 2..].trim_start();
    let (time, rest) = rest.split_once(": ").unwrap();
    let (s, n) = time.split_once('.').unwrap();
    assert_eq!(n.len(), 9, "{l:?}");
    let ns = s.parse::<u64>().unwrap() * 1_000_000_000 + n.parse::<u64>().unwrap();
    let rest = rest.trim_start();
    let (event, text) = match rest.split_once(": ") {
        Some((e, t)) if !e.starts_with("PERF_RECORD") => (e.to_string(), t.to_string()),
        _ => {
            // PERF_RECORD_X(...) or PERF_RECORD_COMM[ exec]: text
            let (e, t) = rest.split_once([':', '(']).unwrap();
            (e.to_string(), t.trim().to_string())
        }
    };
    Line {
        pid: pid.parse().unwrap(),
        tid: tid.parse().unwrap(),
        cpu,
        ns,
        event,
        text,
    }
}
