//! The static helper: a small C program (built with `gcc -static` at start) that loops over
//! `getpid`, makes a forbidden call or loops over connects or UDP round trips, and the getpid
//! figures it prints.

use crate::timing::sandboxed;
use sbx::{Policy, Status};
use std::io::Read;
use std::path::PathBuf;
use std::process::Command;

/// Source of the small static helper used by (d) and (e).
const HELPER_C: &str = r#"
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

static long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static int cmp_long(const void *a, const void *b) {
    long x = *(const long *)a, y = *(const long *)b;
    return x < y ? -1 : x > y;
}

/* connect PORT N: N blocking connects to 127.0.0.1:PORT, each closed at once; prints the p50
 * and p99 connect latency and the whole loop's time, in ns. */
static int connect_loop(int port, long n) {
    static long lat[100000];
    if (n < 1 || n > 100000) return 2;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s < 0) return 5;
        long a = now_ns();
        if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) return 6;
        lat[i] = now_ns() - a;
        close(s);
    }
    long total = now_ns() - t0;
    qsort(lat, (size_t)n, sizeof lat[0], cmp_long);
    printf("%ld %ld %ld\n", lat[n / 2], lat[(n * 99) / 100], total);
    return 0;
}

/* udp PORT N: N round trips (send, then wait for the answer) on one UDP socket connected to
 * 127.0.0.1:PORT; prints p50, p99 and the whole loop's time, in ns, like connect. */
static int udp_loop(int port, long n) {
    static long lat[100000];
    char buf[64];
    if (n < 1 || n > 100000) return 2;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) return 5;
    struct timeval tv = { 5, 0 };
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) != 0) return 6;
    long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        long a = now_ns();
        if (send(s, "ping", 4, 0) != 4) return 7;
        if (recv(s, buf, sizeof buf, 0) < 0) return 8;
        lat[i] = now_ns() - a;
    }
    long total = now_ns() - t0;
    qsort(lat, (size_t)n, sizeof lat[0], cmp_long);
    printf("%ld %ld %ld\n", lat[n / 2], lat[(n * 99) / 100], total);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    if (!strcmp(argv[1], "exit")) return 0;
    if (!strcmp(argv[1], "violate")) {
        syscall(SYS_ptrace, 0L, 0L, 0L, 0L); /* PTRACE_TRACEME: never allowed */
        return 3;
    }
    if (!strcmp(argv[1], "spin") && argc >= 3) {
        long end = now_ns() + atol(argv[2]) * 1000000L;
        volatile unsigned long x = 0;
        while (now_ns() < end) x++;
        return 0;
    }
    if (!strcmp(argv[1], "connect") && argc >= 4) return connect_loop(atoi(argv[2]), atol(argv[3]));
    if (!strcmp(argv[1], "udp") && argc >= 4) return udp_loop(atoi(argv[2]), atol(argv[3]));
    if (!strcmp(argv[1], "getpid") && argc >= 3) {
        long n = atol(argv[2]);
        if (argc >= 4 && !strcmp(argv[3], "allow1")) {
            struct sock_filter f[] = { BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW) };
            struct sock_fprog p = { 1, f };
            if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
                syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p))
                return 4;
        }
        long t0 = now_ns();
        for (long i = 0; i < n; i++) syscall(SYS_getpid);
        long t1 = now_ns();
        printf("%ld\n", t1 - t0);
        return 0;
    }
    return 2;
}
"#;

pub(crate) struct Helper {
    dir: PathBuf,
    pub(crate) path: PathBuf,
}

impl Helper {
    pub(crate) fn build() -> Result<Helper, String> {
        let dir = std::env::temp_dir().join(format!("sbx-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let src = dir.join("helper.c");
        let path = dir.join("helper");
        std::fs::write(&src, HELPER_C).map_err(|e| format!("{}: {e}", src.display()))?;
        let helper = Helper { dir, path };
        let out = Command::new("gcc")
            .args(["-O2", "-static", "-o"])
            .arg(&helper.path)
            .arg(&src)
            .output()
            .map_err(|e| format!("gcc: {e} (install gcc and libc6-dev)"))?;
        if !out.status.success() {
            return Err(format!(
                "gcc -static failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(helper)
    }

    pub(crate) fn path(&self) -> &str {
        self.path.to_str().unwrap_or("helper")
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// ns per getpid from one helper run's printed total.
fn ns_per_call(printed: &str, n: u64) -> Result<f64, String> {
    let total: f64 = printed
        .trim()
        .parse()
        .map_err(|_| format!("helper printed {printed:?}"))?;
    Ok(total / n as f64)
}

pub(crate) fn getpid_bare(h: &Helper, n: u64, allow1: bool) -> Result<f64, String> {
    let n_s = n.to_string();
    let mut cmd = Command::new(h.path());
    cmd.args(["getpid", n_s.as_str()]);
    if allow1 {
        cmd.arg("allow1");
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("helper failed: {}", out.status));
    }
    ns_per_call(&String::from_utf8_lossy(&out.stdout), n)
}

pub(crate) fn getpid_sandboxed(h: &Helper, policy: &Policy, n: u64) -> Result<f64, String> {
    let (r, w) = nix::unistd::pipe().map_err(|e| format!("pipe: {e}"))?;
    let n_s = n.to_string();
    let res = sandboxed(policy, &[h.path(), "getpid", &n_s], Some(w)).map_err(|e| e.to_string())?;
    if res.status != Status::Ok || res.exit_code != Some(0) {
        return Err(res.describe());
    }
    let mut text = String::new();
    std::fs::File::from(r)
        .read_to_string(&mut text)
        .map_err(|e| e.to_string())?;
    ns_per_call(&text, n)
}

/// `tool_default()` plus the static helper's file (it lives outside the tool view), under `monitor`.
pub(crate) fn helper_policy(h: &Helper, monitor: sbx::Monitor) -> sbx::Result<Policy> {
    let mut b = sbx::policy::presets::tool_default();
    b.add_file(&h.path).monitor(monitor);
    b.build()
}
