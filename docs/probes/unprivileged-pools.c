// Probe (session 11, not part of the build): pooled namespaces and mount templates for
// UNPRIVILEGED callers, through a caller-made user namespace U0. Run as uid 65534:
//   gcc -O1 -pthread -o u0 docs/probes/unprivileged-pools.c && contain -- setpriv --reuid 65534 \
//       --regid 65534 --clear-groups --inh-caps=-all ./u0
// Result on 6.18 (2026-12-07):
//   host: setns(U0) from the multithreaded host: Invalid argument
//   child: setns(U0) ok / setns(net) ok / setns(mnt) ok      (a CLONE_VM child, no namespaces)
//   grandchild: uid 0, pid 1, in pooled netns: yes, sees template's /mnt/marker: yes,
//     SO_MARK (CAP_NET_ADMIN over the pooled netns): EPERM, own tmpfs on /tmp: ok,
//     umount of the template's /mnt: EINVAL (locked)
// So: the supervisor cannot join U0, but a CLONE_VM child of it can (it is in U0's parent with
// the owner's euid: every capability in U0), then join a netns and a mount namespace owned by
// U0 and clone the real init with CLONE_PARENT | CLONE_NEWUSER | CLONE_NEWPID | ... (still the
// supervisor's child); the sandbox cannot reconfigure the pooled netns nor unmount the
// template's mounts. See the session-11 note on issue 11.
// Probe: can an unprivileged, multithreaded host give a sandbox a pooled netns and a template
// mount namespace owned by a caller-made user namespace U0, via a CLONE_VM child that joins U0?
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int u0_fd = -1, net_fd = -1, mnt_fd = -1;
static char *stk1, *stk2;
static int go[2];

static void wr(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    if (fd < 0 || write(fd, s, strlen(s)) < 0) { fprintf(stderr, "write %s: %s\n", path, strerror(errno)); }
    if (fd >= 0) close(fd);
}

// Helper (forked, single-threaded): makes U0 (maps own uid to 0), a netns and a mntns in it,
// then sleeps so the parent can open /proc/PID/ns/*.
static pid_t make_u0(void) {
    int p[2]; pipe(p);
    uid_t uid = getuid(); gid_t gid = getgid();
    pid_t pid = fork();
    if (pid == 0) {
        if (unshare(CLONE_NEWUSER) != 0) { perror("unshare user"); _exit(1); }
        char b[64];
        wr("/proc/self/setgroups", "deny");
        snprintf(b, sizeof b, "0 %u 1", uid); wr("/proc/self/uid_map", b);
        snprintf(b, sizeof b, "0 %u 1", gid); wr("/proc/self/gid_map", b);
        if (unshare(CLONE_NEWNET | CLONE_NEWNS) != 0) { perror("unshare net|ns"); _exit(1); }
        // the "template": make / private and put a tmpfs on /mnt
        mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
        if (mount("tmpfs", "/mnt", "tmpfs", 0, "size=1m") != 0) perror("mount tmpfs");
        else wr("/mnt/marker", "template\n");
        write(p[1], "x", 1);
        pause();
        _exit(0);
    }
    char c; read(p[0], &c, 1);
    return pid;
}

static int grandchild(void *arg) {
    (void)arg;
    char c; read(go[0], &c, 1); // maps written
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("grandchild: uid %d (want 0 in U_sb)\n", getuid());
    // in U_sb (child of U0), new pid ns: we are pid 1
    printf("grandchild: pid %d (want 1)\n", getpid());
    struct stat a, b;
    stat("/proc/self/ns/net", &a);
    fstat(net_fd, &b);
    printf("grandchild: in pooled netns: %s\n", a.st_ino == b.st_ino ? "yes" : "NO");
    int fd = open("/mnt/marker", O_RDONLY);
    printf("grandchild: sees template's /mnt/marker: %s\n", fd >= 0 ? "yes" : "NO");
    // can it reconfigure the netns (owned by U0, not ours)? try to set lo down via unshare? use sethostname-like net op:
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    errno = 0;
    int r = setsockopt(s, SOL_SOCKET, SO_MARK, &(int){1}, sizeof(int)); // needs CAP_NET_ADMIN over netns owner
    printf("grandchild: SO_MARK (CAP_NET_ADMIN in the netns's userns): %s\n", r == 0 ? "ALLOWED" : strerror(errno));
    // its own mounts: can it mount a tmpfs (own mntns in U_sb)?
    r = mount("tmpfs", "/tmp", "tmpfs", 0, "size=1m");
    printf("grandchild: own tmpfs on /tmp: %s\n", r == 0 ? "ok" : strerror(errno));
    r = umount2("/mnt", MNT_DETACH);
    printf("grandchild: umount template's /mnt (locked?): %s\n", r == 0 ? "ALLOWED" : strerror(errno));
    return 0;
}

static int child(void *arg) {
    (void)arg;
    // CLONE_VM child of a multithreaded host, no namespaces: join U0, then its netns and mntns
    if (setns(u0_fd, CLONE_NEWUSER) != 0) { printf("child: setns(U0): %s\n", strerror(errno)); return 1; }
    printf("child: setns(U0) ok\n");
    if (setns(net_fd, CLONE_NEWNET) != 0) { printf("child: setns(net): %s\n", strerror(errno)); return 1; }
    printf("child: setns(net) ok\n");
    if (setns(mnt_fd, CLONE_NEWNS) != 0) { printf("child: setns(mnt): %s\n", strerror(errno)); return 1; }
    printf("child: setns(mnt) ok\n");
    // the real init: a sibling of ours (CLONE_PARENT), new user/pid/mount/ipc/uts namespaces
    int flags = CLONE_PARENT | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
    pid_t g = clone(grandchild, stk2 + (1 << 20), flags, NULL);
    if (g < 0) { printf("child: clone(real init): %s\n", strerror(errno)); return 1; }
    printf("child: real init %d made\n", g);
    // maps for U_sb, written from U0 (its parent): map 0 -> 0 of U0 (which is our uid)
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/setgroups", g); wr(path, "deny");
    snprintf(path, sizeof path, "/proc/%d/uid_map", g); wr(path, "0 0 1");
    snprintf(path, sizeof path, "/proc/%d/gid_map", g); wr(path, "0 0 1");
    write(go[1], "x", 1);
    return 0;
}

static void *idle(void *a) { (void)a; pause(); return NULL; }

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    pipe(go);
    pthread_t t; pthread_create(&t, NULL, idle, NULL); // a multithreaded host
    pid_t h = make_u0();
    char p[64];
    snprintf(p, sizeof p, "/proc/%d/ns/user", h); u0_fd = open(p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/%d/ns/net", h); net_fd = open(p, O_RDONLY);
    snprintf(p, sizeof p, "/proc/%d/ns/mnt", h); mnt_fd = open(p, O_RDONLY);
    kill(h, SIGKILL); waitpid(h, NULL, 0); // the namespaces live on through our fds
    printf("host: uid %d, fds %d %d %d\n", getuid(), u0_fd, net_fd, mnt_fd);
    printf("host: setns(U0) from the multithreaded host: %s\n", setns(u0_fd, CLONE_NEWUSER) == 0 ? "ok?!" : strerror(errno));
    stk1 = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    stk2 = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    pid_t c = clone(child, stk1 + (1 << 20), CLONE_VM | SIGCHLD, NULL);
    int st;
    waitpid(c, &st, 0);
    printf("host: child ended %d\n", WEXITSTATUS(st));
    // the real init is our child too (CLONE_PARENT)
    pid_t g = waitpid(-1, &st, __WALL);
    printf("host: reaped real init %d status %d\n", g, st);
    return 0;
}
