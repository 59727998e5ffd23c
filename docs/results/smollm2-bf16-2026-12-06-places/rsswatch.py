"""Sample VmRSS/VmHWM (MiB) of every `ba-lora train` process every 0.5 s until `stopfile` exists."""
import os, sys, time
out, stop = sys.argv[1], sys.argv[2]
t0 = time.monotonic()
with open(out, "w") as f:
    while not os.path.exists(stop):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
                if not any(c.endswith(b"ba-lora") for c in cmd) or b"train" not in cmd:
                    continue
                st = open(f"/proc/{pid}/status").read()
                rss = int(st.split("VmRSS:")[1].split()[0]) / 1024
                hwm = int(st.split("VmHWM:")[1].split()[0]) / 1024
                f.write(f"{time.monotonic()-t0:.1f} {pid} {rss:.0f} {hwm:.0f}\n"); f.flush()
            except (OSError, IndexError, ValueError):
                pass
        time.sleep(0.5)
