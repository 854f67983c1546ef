//! The process's resident memory and CPU time, logged with each phase of a run: the 2 GiB goal
//! is a peak, and a sampler outside the process cannot say which phase reached it; and on a
//! shared 2-core machine a phase's wall time varies by half from run to run where its CPU time
//! does not.

/// Resident set size in MiB (Linux; `None` where `/proc/self/statm` is not there).
pub(crate) fn resident_mib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / (1024 * 1024))
}

/// User and system CPU seconds the process has used (Linux; `None` where `/proc/self/stat` is
/// not there). The kernel counts in ticks of 1/100 s (`USER_HZ`, fixed for user space).
pub(crate) fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some((user + system) as f64 / 100.0)
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(target_os = "linux")]
    fn a_running_process_reports_some_resident_memory() {
        let before = super::resident_mib().expect("statm on linux");
        let block = vec![1u8; 64 << 20];
        let after = super::resident_mib().expect("statm on linux");
        assert!(
            after >= before + 32,
            "{before} → {after} MiB with 64 MiB touched"
        );
        drop(block);
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn cpu_time_grows_with_work_done() {
        // Work until the count moves (the process's other test threads may move it too), or
        // give up after 10 s: a count that never moves fails, a busy machine only waits.
        let before = super::cpu_seconds().expect("stat on linux");
        let started = std::time::Instant::now();
        let mut x = 1u64;
        let mut after = before;
        while after < before + 0.2 && started.elapsed().as_secs() < 10 {
            for _ in 0..1_000_000 {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
            after = super::cpu_seconds().expect("stat on linux");
        }
        assert!(
            after >= before + 0.2,
            "{before} → {after} s after 10 s of work"
        );
    }
}
