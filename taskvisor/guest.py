"""A tiny guest "operating system" for the process driver (stdlib only).

Run as ``python -m taskvisor.guest``; everything comes from the environment
the driver sets (from image properties and the flavor):

  GUEST_BOOT_SECONDS       time until it reports ready (writes GUEST_READY_FILE)
  GUEST_SHUTDOWN_SECONDS   time it takes to shut down once asked
  GUEST_ON_SHUTDOWN        clean | ignore | second-request | crash
  GUEST_DISK_DIR           its disk (the working directory); keeps a boot counter
  GUEST_VCPUS, GUEST_RAM_MB, GUEST_DISK_GB, GUEST_FLAVOR   its flavor
  GUEST_RESCUE_DISK        (rescue guests) the original disk, attached read-only

Console output goes to stdout (the driver points it at console.log). Every
signal it receives is logged there. SIGSTOP/SIGCONT just pause it.
"""
import os
import select
import signal
import sys
import time

CAUGHT = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGCONT, signal.SIGUSR1)
CRASH_EXIT = 70


def say(msg: str) -> None:
    sys.stdout.write(f"[{time.time():.3f}] {msg}\n")
    sys.stdout.flush()


def boot_count(disk: str) -> int:
    path = os.path.join(disk, "boot_count")
    try:
        with open(path) as f:
            count = int(f.read().strip() or 0) + 1
    except (OSError, ValueError):
        count = 1
    with open(path + ".tmp", "w") as f:
        f.write(str(count))
    os.replace(path + ".tmp", path)
    return count


def main() -> int:
    env = os.environ
    boot_s = float(env.get("GUEST_BOOT_SECONDS") or 0)
    shutdown_s = float(env.get("GUEST_SHUTDOWN_SECONDS") or 0)
    on_shutdown = env.get("GUEST_ON_SHUTDOWN") or "clean"
    disk = env.get("GUEST_DISK_DIR") or os.getcwd()
    ready_file = env.get("GUEST_READY_FILE")

    rfd, wfd = os.pipe()
    os.set_blocking(wfd, False)
    signal.set_wakeup_fd(wfd)
    for sig in CAUGHT:
        signal.signal(sig, lambda *_: None)  # handled in the loop via the wakeup fd

    os.makedirs(disk, exist_ok=True)
    count = boot_count(disk)
    say(f"booting {env.get('GUEST_ROLE', 'guest')} {env.get('GUEST_SERVER_ID', '?')} pid={os.getpid()} "
        f"boot={count} flavor={env.get('GUEST_FLAVOR', '?')} vcpus={env.get('GUEST_VCPUS', '?')} "
        f"ram_mb={env.get('GUEST_RAM_MB', '?')} disk_gb={env.get('GUEST_DISK_GB', '?')}")
    if env.get("GUEST_RESCUE_DISK"):
        say(f"rescue: original disk attached read-only at {env['GUEST_RESCUE_DISK']}")

    ready_at = time.monotonic() + boot_s
    shutdown_at = None
    requests = 0
    while True:
        now = time.monotonic()
        if ready_at is not None and now >= ready_at:
            ready_at = None
            say("ready")
            if ready_file:
                with open(ready_file, "w") as f:
                    f.write(str(os.getpid()))
        if shutdown_at is not None and now >= shutdown_at:
            say("shutdown complete; powering off")
            return 0
        deadlines = [t for t in (ready_at, shutdown_at) if t is not None]
        timeout = max(0.0, min(deadlines) - now) if deadlines else None
        if not select.select([rfd], [], [], timeout)[0]:
            continue
        for signum in os.read(rfd, 64):
            name = signal.Signals(signum).name
            say(f"signal {name}")
            if signum not in (signal.SIGTERM, signal.SIGINT):
                continue
            requests += 1
            if shutdown_at is not None:
                continue
            if on_shutdown == "crash":
                say("kernel panic: not syncing: attempted to kill init")
                os._exit(CRASH_EXIT)
            if on_shutdown == "clean" or (on_shutdown == "second-request" and requests >= 2):
                say(f"shutting down (takes {shutdown_s:g}s)")
                shutdown_at = time.monotonic() + shutdown_s
            else:
                say(f"ignoring shutdown request {requests}")


if __name__ == "__main__":
    sys.exit(main())
