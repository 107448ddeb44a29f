#!/usr/bin/env python3
"""Lines per second into a real rsyslogd on this machine: plain TCP, TCP with TLS (tls://),
RELP, RELP over TLS, and TCP and RELP through a disk spool; 4 children of the bench producer,
each run paired with a plain TCP run right before it (the reference: the ratio is of the pairs'
medians). rsyslogd writes what it takes to a file with a Direct queue (each message
written before the next is taken: what makes RELP's acknowledgement mean "written"); every
run's file is checked for every line. Prints a Markdown table; bench/syslog_results.md gets it.

    python3 bench/syslog_rows.py [--reps N] [--lines K]     (after bench/run built build-bench)
"""
import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from run import PIPEMUX, PRODUCER, median_spread, run

HERE = Path(__file__).resolve().parent
CHILDREN = 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    needle = f"0100007F:{port:04X}"
    with open("/proc/net/tcp") as table:
        return any(needle in line and " 0A " in line for line in table)


def make_certificates(d):
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *ec, "-days", "2", "-subj", "/CN=ca", "-keyout", f"{d}/ca.key",
            "-out", f"{d}/ca.pem")
    for name, host in (("server", "127.0.0.1"), ("client", "pipemux.client")):
        # librelp matches an address as a DNS name; OpenSSL (tls://) as an IP address.
        alt = f"DNS:{host},IP:{host}" if name == "server" else f"DNS:{host}"
        Path(f"{d}/{name}.ext").write_text(f"subjectAltName={alt}\n")
        openssl("req", *ec, "-subj", f"/CN={host}", "-keyout", f"{d}/{name}.key",
                "-out", f"{d}/{name}.csr")
        openssl("x509", "-req", "-days", "2", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.pem",
                "-CAkey", f"{d}/ca.key", "-CAcreateserial", "-extfile", f"{d}/{name}.ext",
                "-out", f"{d}/{name}.pem")


class Rsyslog:
    """rsyslogd with imtcp, imrelp and imrelp over TLS on three loopback ports, and a second one
    with imtcp over TLS (the gtls driver is the whole imtcp module's)."""

    def __init__(self, d):
        self.dir = d
        self.ports = {"tcp": free_port(), "relp": free_port(), "relp+tls": free_port(),
                      "tls": free_port()}
        make_certificates(d)
        # Certificates both ways (imrelp's anonymous mode has no cipher suite librelp's client
        # takes when it checks the server's name).
        tls = (f'tls="on" tls.caCert="{d}/ca.pem" tls.myCert="{d}/server.pem" '
               f'tls.myPrivKey="{d}/server.key" tls.authMode="name" '
               f'tls.permittedPeer=["pipemux.client"]')
        Path(f"{d}/rs.conf").write_text(f"""global(workDirectory="{d}")
main_queue(queue.type="Direct")
module(load="imtcp")
input(type="imtcp" port="{self.ports['tcp']}" address="127.0.0.1")
module(load="imrelp")
input(type="imrelp" port="{self.ports['relp']}" address="127.0.0.1")
input(type="imrelp" port="{self.ports['relp+tls']}" address="127.0.0.1" {tls})
template(name="t" type="string" string="%msg%\\n")
action(type="omfile" file="{d}/out.log" template="t")
""")
        Path(f"{d}/tls.conf").write_text(f"""global(workDirectory="{d}/tls-work"
  DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="{d}/ca.pem"
  DefaultNetstreamDriverCertFile="{d}/server.pem" DefaultNetstreamDriverKeyFile="{d}/server.key")
main_queue(queue.type="Direct")
module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")
input(type="imtcp" port="{self.ports['tls']}" address="127.0.0.1")
template(name="t" type="string" string="%msg%\\n")
action(type="omfile" file="{d}/tls-out.log" template="t")
""")
        os.makedirs(f"{d}/tls-work", exist_ok=True)
        self.procs = [subprocess.Popen(["rsyslogd", "-n", "-f", f"{d}/{conf}.conf", "-i",
                                        f"{d}/{conf}.pid"],
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                      for conf in ("rs", "tls")]
        deadline = time.monotonic() + 10
        while not all(listening(p) for p in self.ports.values()):
            if time.monotonic() > deadline:
                raise RuntimeError("rsyslogd did not start")
            time.sleep(0.05)

    def lines(self):
        count = 0
        for name in ("out.log", "tls-out.log"):
            try:
                with open(f"{self.dir}/{name}", "rb") as f:
                    count += sum(1 for line in f if line.startswith(b"Spam "))
            except OSError:
                pass
        return count

    def empty(self):
        for name in ("out.log", "tls-out.log"):
            with open(f"{self.dir}/{name}", "ab") as f:
                f.truncate(0)  # rsyslogd keeps it open: truncated, not removed
        shutil.rmtree(f"{self.dir}/spool", ignore_errors=True)

    def stop(self):
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
            proc.wait()


def sink_flags(kind, server):
    spooled = kind.endswith("+spool")
    kind = kind.removesuffix("+spool")
    port = server.ports[kind]
    spool = ["--syslog-spool", f"{server.dir}/spool"] if spooled else []
    if kind in ("tcp", "tls"):
        return ["--syslog-to", f"{kind}://127.0.0.1:{port}", *spool] + (
            ["--syslog-tls-ca", f"{server.dir}/ca.pem"] if kind == "tls" else [])
    flags = ["--syslog-to", f"relp://127.0.0.1:{port}", *spool]
    if kind == "relp+tls":
        flags += ["--syslog-tls-ca", f"{server.dir}/ca.pem", "--syslog-tls-cert",
                  f"{server.dir}/client.pem", "--syslog-tls-key", f"{server.dir}/client.key"]
    return flags


def measure(kind, server, lines):
    """Seconds until rsyslogd has written every line (pipemux waits for RELP's acknowledgements;
    over TCP, rsyslogd may still be writing when pipemux ends)."""
    server.empty()
    cmd = [str(PIPEMUX), *sink_flags(kind, server), "-n", str(CHILDREN), "--", str(PRODUCER),
           str(lines)]
    start = time.perf_counter()
    _, code, _ = run(cmd, timeout=120)
    want = CHILDREN * lines
    deadline = time.monotonic() + 60
    while server.lines() < want and time.monotonic() < deadline:
        time.sleep(0.01)
    got = server.lines()
    if code != 0 or got != want:
        raise RuntimeError(f"{kind}: exit {code}, {got} of {want} lines in rsyslogd's file")
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--lines", type=int, default=100000, help="lines per child")
    args = parser.parse_args()
    if not shutil.which("rsyslogd"):
        raise SystemExit("bench/syslog_rows.py: rsyslogd is not installed")
    rows = []
    with tempfile.TemporaryDirectory(prefix="pipemux-syslog-bench.") as d:
        server = Rsyslog(d)
        try:
            kinds = ("tls", "tcp+spool", "relp", "relp+tls", "relp+spool")
            times = {"tcp": [], **{kind: [] for kind in kinds}}
            for _ in range(args.reps):
                for kind in kinds:
                    times["tcp"].append(measure("tcp", server, args.lines))
                    times[kind].append(measure(kind, server, args.lines))
            tcp = statistics.median(times["tcp"])
            for kind, values in times.items():
                med, spread = median_spread(values)
                rate = CHILDREN * args.lines / med
                rows.append(f"| {kind} | {med:.3f} s ({spread:.0%}) | {rate / 1e3:.0f} k | "
                            f"{tcp / med:.2f}x |")
        finally:
            server.stop()
    table = "\n".join([
        f"{CHILDREN} children x {args.lines:,} lines into rsyslogd (Direct queue, omfile), "
        f"medians of {args.reps} pairs, {time.strftime('%Y-%m-%d')}:",
        "",
        "| sink | time until rsyslogd wrote every line (spread) | lines/s | rate x TCP's |",
        "| --- | ---: | ---: | ---: |",
        *rows, ""])
    print(table)
    (HERE / "syslog_results.md").write_text(table)


if __name__ == "__main__":
    os.chdir(HERE)
    main()
