#!/usr/bin/env python3
"""Writes libsbx's seccomp profile for Docker, podman and Kubernetes (OCI JSON).

The profile is the runtime's default (moby's default.json, a copy in
tests/data/moby-default-seccomp.json) plus one entry: the calls a libsbx sandbox makes to build
its namespaces and filesystem view, which the default grants only to CAP_SYS_ADMIN. Nothing
else changes (clone3 still fails with ENOSYS, which libsbx does not use).

    scripts/docker-profile.py [DEFAULT.json] > contrib/docker/libsbx-seccomp.json

tests/docker_emulation.rs checks that the sandbox suites pass under the result.
"""
import json
import sys

# What libsbx calls beyond the default profile, and why.
LIBSBX_CALLS = {
    "clone": "any flags: the sandbox's init starts in new user, pid, mount, ipc, uts, cgroup "
             "and network namespaces (CLONE_NEW*)",
    "unshare": "the sandboxee's nested user namespace (unprivileged callers)",
    "setns": "the shared empty network namespace (NetNs::Shared, root callers)",
    "mount": "making / private inside the sandbox's own mount namespace",
    "umount2": "detaching the old root after pivot_root",
    "pivot_root": "the sandbox's new root",
    "open_tree": "cloning each bind source",
    "move_mount": "attaching the mounts of the view",
    "mount_setattr": "read-only, nosuid, nodev, noexec and idmapped binds",
    "fsopen": "tmpfs, procfs and devpts of the view (new mount API)",
    "fsconfig": "their options",
    "fsmount": "their mounts",
    "sethostname": "the sandbox's hostname (cosmetic: left out when refused)",
    "pidfd_getfd": "the network allow-list's connect proxy (the kernel still checks ptrace "
                   "access to the sandboxee)",
}


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "tests/data/moby-default-seccomp.json"
    with open(src) as f:
        profile = json.load(f)
    profile["syscalls"].append({
        "names": sorted(LIBSBX_CALLS),
        "action": "SCMP_ACT_ALLOW",
        "comment": "libsbx: " + "; ".join(f"{n}: {why}" for n, why in sorted(LIBSBX_CALLS.items())),
    })
    json.dump(profile, sys.stdout, indent="\t")
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
