"""Run a command; every 0.5 s log its VmRSS/VmHWM (MiB) with seconds since start."""
import subprocess, sys, time, json
out = sys.argv[1]; cmd = sys.argv[2:]
t0 = time.monotonic()
with open(out + ".stderr", "w") as err:
    p = subprocess.Popen(cmd, stderr=err)
    with open(out, "w") as f:
        peak = 0
        while p.poll() is None:
            try:
                st = open(f"/proc/{p.pid}/status").read()
                rss = int(st.split("VmRSS:")[1].split()[0]) / 1024
                hwm = int(st.split("VmHWM:")[1].split()[0]) / 1024
                f.write(f"{time.monotonic()-t0:.1f} {rss:.0f} {hwm:.0f}\n"); f.flush()
                peak = max(peak, hwm)
            except (FileNotFoundError, IndexError, ProcessLookupError):
                pass
            time.sleep(0.5)
print(json.dumps({"rc": p.returncode, "seconds": round(time.monotonic()-t0, 1), "peak_hwm_mib": round(peak)}))
