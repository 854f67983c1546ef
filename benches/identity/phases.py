"""Each phase's wall and CPU time from a `marque resolve` log written with
MARQUE_LOG=marque_identity=debug (events carrying `cpu_s`, the process's CPU seconds so far).

    phases.py LOG

On a shared 2-core machine a phase's wall time varies by half from run to run; its CPU time
varies far less, so A/B comparisons of a change read the CPU column.
"""

import re
import sys


def main() -> None:
    rows = []
    for line in open(sys.argv[1], errors="replace"):
        line = re.sub(r"\x1b\[[0-9;]*m", "", line)
        m = re.match(r"\S+T(\d+):(\d+):([\d.]+)Z\s+\w+\s+\S+: (.*)", line)
        cpu = re.search(r"cpu_s=([0-9.]+)", line)
        if not m or not cpu:
            continue
        t = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
        phase = re.search(r'phase="([^"]+)"', line)
        table = re.search(r'table="([^"]+)"', line)
        if phase:
            what = "link: " + phase.group(1)
        elif table:
            what = "written: " + table.group(1)
        else:
            what = re.sub(r"\s*\w+=\S+", "", m.group(4)).strip()
        rows.append((what, t, float(cpu.group(1))))
    if not rows:
        sys.exit("no events with cpu_s: run with MARQUE_LOG=marque_identity=debug")
    print(f"{'phase (time to reach its event)':48s} {'wall s':>7s} {'cpu s':>7s}")
    last_t, last_cpu = rows[0][1], 0.0
    for what, t, cpu in rows:
        print(f"{what[:48]:48s} {t - last_t:7.2f} {cpu - last_cpu:7.2f}")
        last_t, last_cpu = t, cpu
    print(f"{'total':48s} {rows[-1][1] - rows[0][1]:7.2f} {rows[-1][2]:7.2f}")


if __name__ == "__main__":
    main()
