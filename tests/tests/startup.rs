//! What the tools cost around their work: none of them brings up the C
//! library's own allocator. The tools allocate from chain::arena, but a
//! libc call that mallocs (musl's opendir, setenv) brings up musl's
//! mallocng in that process: brk twice, mmap, and the page faults of its
//! heap. Those cost the headline chain 0.13-0.23 ms before they were
//! replaced (chain/README.md, "The chain variables are set without
//! setenv"), so a new such call is a regression a user would pay in every
//! container. strace shows it: a brk from one of our programs.
//! (The vethctl chain: tests/tests/vethctl.rs, the same check.)

use e2e::*;

#[test]
fn no_tool_of_the_chain_grows_a_heap() {
    if !have("strace") {
        skip("strace (Debian package strace) is not installed");
        return;
    }
    let dir = TempDir::new("startup");
    let prefix = dir.path("trace");
    let rootfs = rootfs();
    // The headline chain: cgctl (its anonymous group below this test's
    // own, its stale sweep lists the groups there), unshare-rs's
    // supervisor and its child, pivot with seccompctl carried in
    // (CHAIN_CARRY, set with chain::exec::set_env), seccompctl's filter.
    let (prefix_s, rootfs_s) = (prefix.to_str().unwrap(), rootfs.to_str().unwrap());
    let (c, u, p, s) = (
        bin("cgctl"),
        bin("unshare-rs"),
        bin("pivot"),
        bin("seccompctl"),
    );
    let chain = [
        c.to_str().unwrap(),
        "--mem",
        "100M",
        "--",
        u.to_str().unwrap(),
        "-fpnumi",
        "--",
        p.to_str().unwrap(),
        rootfs_s,
        "--",
        s.to_str().unwrap(),
        "--default",
        "--",
        "/bin/true",
    ];
    let argv = [&STRACE_BRK[..], &[prefix_s], &chain[..]].concat();
    let out = run(&mut command(As::Root, "strace", &argv));
    assert_eq!(out.status, 0, "{}", out.stderr);
    // seccompctl runs carried in (execveat of its memfd), argv[0] its path.
    assert_no_brk_of_ours(
        &prefix,
        &[
            "cgctl\"",
            "unshare-rs\"",
            "pivot\"",
            "execveat(",
            "seccompctl\"",
            "/bin/true\"",
        ],
    );
}

#[test]
fn argv0_is_read_from_execve_and_execveat_lines() {
    use e2e::strace_argv0 as argv0;
    assert_eq!(
        argv0(r#"execve("/x/y/pivot", ["/x/y/pivot", "/r", "--"], 0x7ffd /* 3 vars */) = 0"#),
        Some("pivot")
    );
    assert_eq!(
        argv0(
            r#"execveat(5, "", ["seccompctl", "--default"], 0x55 /* 3 vars */, AT_EMPTY_PATH) = 0"#
        ),
        Some("seccompctl")
    );
    assert_eq!(argv0("brk(NULL) = 0x5555"), None);
}
