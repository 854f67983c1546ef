//! The process's resident memory, logged with each phase of a run: the 2 GiB goal is a peak,
//! and a sampler outside the process cannot say which phase reached it.

/// Resident set size in MiB (Linux; `None` where `/proc/self/statm` is not there).
pub(crate) fn resident_mib() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / (1024 * 1024))
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
}
