//! Resolution against synthetic trees: `$ORIGIN`, RPATH/RUNPATH order and inheritance, cycles,
//! sonames, wrong class or machine, missing files, aliases, the depth limit, DSTs.

use super::*;

fn lib(needed: &[&str]) -> Spec {
    Spec {
        needed: needed.iter().map(|s| (*s).to_string()).collect(),
        ..Spec::default()
    }
}

/// A tree with an interpreter (soname ld-sbx.so.2); returns it and the interpreter's path.
fn tree(tag: &str) -> (TempDir, String) {
    let t = TempDir::new(tag);
    t.write(
        "ld/ld-sbx.so.2",
        &Spec {
            soname: Some("ld-sbx.so.2".into()),
            ..Spec::default()
        },
    );
    let interp = t.path("ld/ld-sbx.so.2");
    (t, interp)
}

fn prog(interp: &str, needed: &[&str]) -> Spec {
    Spec {
        interp: Some(interp.to_string()),
        ..lib(needed)
    }
}

fn insides(v: &[LibraryFile]) -> Vec<String> {
    v.iter().map(|l| l.inside.display().to_string()).collect()
}

#[test]
fn origin_runpath_cycles_and_soname() {
    let (t, interp) = tree("origin");
    let bin = t.write(
        "app/bin/prog",
        &Spec {
            runpath: Some("$ORIGIN/../lib".into()),
            ..prog(&interp, &["libsbxa.so", "libsbxb.so"])
        },
    );
    // a and b need each other; a also needs the interpreter by soname, as libc does.
    t.write(
        "app/lib/libsbxa.so",
        &Spec {
            runpath: Some("${ORIGIN}".into()),
            ..lib(&["libsbxb.so", "ld-sbx.so.2"])
        },
    );
    t.write(
        "app/lib/libsbxb.so",
        &Spec {
            runpath: Some("$ORIGIN".into()),
            ..lib(&["libsbxa.so"])
        },
    );
    let got = libraries_for_binary(&bin, &[]).unwrap();
    assert_eq!(
        insides(&got),
        vec![
            interp.clone(),
            t.path("app/lib/libsbxa.so"),
            t.path("app/lib/libsbxb.so")
        ]
    );
    // Host paths carry no `..` either, and lead to regular files.
    for l in &got {
        assert!(
            !l.host.display().to_string().contains(".."),
            "{}",
            l.host.display()
        );
        assert!(l.host.is_file());
    }
    assert_eq!(
        got[1].host,
        std::fs::canonicalize(t.path("app/lib"))
            .unwrap()
            .join("libsbxa.so")
    );
}

#[test]
fn rpath_extra_runpath_order() {
    let (t, interp) = tree("order");
    for d in ["rp", "extra", "run"] {
        t.write(&format!("{d}/libsbxo.so"), &Spec::default());
    }
    let extra = [PathBuf::from(t.path("extra"))];
    // DT_RPATH beats extra directories.
    let bin = t.write(
        "b1",
        &Spec {
            rpath: Some(t.path("rp")),
            ..prog(&interp, &["libsbxo.so"])
        },
    );
    assert_eq!(
        insides(&libraries_for_binary(&bin, &extra).unwrap())[1],
        t.path("rp/libsbxo.so")
    );
    // Extra directories beat DT_RUNPATH.
    let bin = t.write(
        "b2",
        &Spec {
            runpath: Some(t.path("run")),
            ..prog(&interp, &["libsbxo.so"])
        },
    );
    assert_eq!(
        insides(&libraries_for_binary(&bin, &extra).unwrap())[1],
        t.path("extra/libsbxo.so")
    );
    assert_eq!(
        insides(&libraries_for_binary(&bin, &[]).unwrap())[1],
        t.path("run/libsbxo.so")
    );
    // With both, DT_RPATH is ignored.
    let bin = t.write(
        "b3",
        &Spec {
            rpath: Some(t.path("rp")),
            runpath: Some(t.path("run")),
            ..prog(&interp, &["libsbxo.so"])
        },
    );
    assert_eq!(
        insides(&libraries_for_binary(&bin, &[]).unwrap())[1],
        t.path("run/libsbxo.so")
    );
    // $ORIGIN in extra directories is the binary's directory.
    let extra = [PathBuf::from("$ORIGIN/extra")];
    let bin = t.write("b4", &prog(&interp, &["libsbxo.so"]));
    assert_eq!(
        insides(&libraries_for_binary(&bin, &extra).unwrap())[1],
        t.path("extra/libsbxo.so")
    );
    assert!(libraries_for_binary(&bin, &[PathBuf::from("relative/dir")]).is_err());
}

#[test]
fn inherited_rpath_stops_at_runpath() {
    let (t, interp) = tree("inherit");
    t.write("rp/libsbxc.so", &Spec::default());
    t.write("rp/libsbxa.so", &lib(&["libsbxc.so"]));
    // libsbxa has no search path of its own: the binary's DT_RPATH is inherited.
    let bin = t.write(
        "b1",
        &Spec {
            rpath: Some(t.path("rp")),
            ..prog(&interp, &["libsbxa.so"])
        },
    );
    assert_eq!(
        insides(&libraries_for_binary(&bin, &[]).unwrap()),
        vec![
            interp.clone(),
            t.path("rp/libsbxa.so"),
            t.path("rp/libsbxc.so")
        ]
    );
    // With a DT_RUNPATH of its own it is not.
    t.write(
        "rp2/libsbxa.so",
        &Spec {
            runpath: Some("/nonexistent-sbx".into()),
            ..lib(&["libsbxc.so"])
        },
    );
    std::fs::copy(t.path("rp/libsbxc.so"), t.path("rp2/libsbxc.so")).unwrap();
    let bin = t.write(
        "b2",
        &Spec {
            rpath: Some(t.path("rp2")),
            ..prog(&interp, &["libsbxa.so"])
        },
    );
    let m = libraries_for_binary(&bin, &[]).unwrap_err().to_string();
    assert!(
        m.contains("libsbxc.so") && m.contains(&t.path("rp2/libsbxa.so")),
        "{m}"
    );
}

#[test]
fn wrong_class_and_machine_are_skipped() {
    let (t, interp) = tree("class");
    t.write(
        "d1/libsbxd.so",
        &Spec {
            class32: true,
            ..Spec::default()
        },
    );
    t.write(
        "d2/libsbxd.so",
        &Spec {
            machine: Some(EM_AARCH64),
            ..Spec::default()
        },
    );
    t.write("d3/libsbxd.so", &Spec::default());
    let runpath = format!("{}:{}:{}", t.path("d1"), t.path("d2"), t.path("d3"));
    let bin = t.write(
        "b",
        &Spec {
            runpath: Some(runpath),
            ..prog(&interp, &["libsbxd.so"])
        },
    );
    assert_eq!(
        insides(&libraries_for_binary(&bin, &[]).unwrap())[1],
        t.path("d3/libsbxd.so")
    );
    // A malformed candidate stops the search, as it stops the loader.
    std::fs::write(t.path("d1/libsbxd.so"), b"\x7fELF\x02\x01\x01").unwrap();
    assert!(libraries_for_binary(&bin, &[]).is_err());
}

#[test]
fn missing_library_and_interpreter() {
    let (t, interp) = tree("missing");
    let bin = t.write("b", &prog(&interp, &["libsbx-no-such-library.so.7"]));
    let m = libraries_for_binary(&bin, &[]).unwrap_err().to_string();
    assert!(
        m.contains("libsbx-no-such-library.so.7") && m.contains(&bin.display().to_string()),
        "{m}"
    );
    let bin = t.write("b2", &prog(&t.path("ld/nope.so"), &[]));
    assert!(libraries_for_binary(&bin, &[])
        .unwrap_err()
        .to_string()
        .contains("interpreter"));
    let bin = t.write("b3", &prog("ld.so", &[]));
    assert!(libraries_for_binary(&bin, &[]).is_err());
    assert!(libraries_for_binary(Path::new("/nonexistent-sbx/bin"), &[]).is_err());
    assert!(libraries_for_binary(Path::new("/"), &[]).is_err());
}

#[test]
fn paths_aliases_and_static() {
    let (t, interp) = tree("paths");
    t.write("l/libsbxp.so", &Spec::default());
    std::os::unix::fs::symlink(t.path("l/libsbxp.so"), t.path("l/alias.so")).unwrap();
    // One file by two names: loaded once, mounted at both paths the loader opens.
    let bin = t.write(
        "b",
        &prog(&interp, &[&t.path("l/libsbxp.so"), &t.path("l/alias.so")]),
    );
    assert_eq!(
        insides(&libraries_for_binary(&bin, &[]).unwrap()),
        vec![interp.clone(), t.path("l/libsbxp.so"), t.path("l/alias.so")]
    );
    // $ORIGIN in a DT_NEEDED path.
    let bin = t.write("b2", &prog(&interp, &["$ORIGIN/l/libsbxp.so"]));
    assert_eq!(
        insides(&libraries_for_binary(&bin, &[]).unwrap())[1],
        t.path("l/libsbxp.so")
    );
    // Relative paths depend on the sandbox's working directory: refused.
    let bin = t.write("b3", &prog(&interp, &["l/libsbxp.so"]));
    assert!(libraries_for_binary(&bin, &[]).is_err());
    // No PT_INTERP: nothing needed, even with DT_NEEDED.
    let bin = t.write("s", &lib(&["libsbx-no-such-library.so.7"]));
    assert_eq!(libraries_for_binary(&bin, &[]).unwrap(), vec![]);
}

#[test]
fn depth_limit() {
    let (t, interp) = tree("depth");
    let n = MAX_DEPTH + 5;
    for i in 0..n {
        let next = format!("libsbxchain{}.so", i + 1);
        let needed: Vec<&str> = if i + 1 < n { vec![&next] } else { vec![] };
        t.write(&format!("c/libsbxchain{i}.so"), &lib(&needed));
    }
    let bin = t.write(
        "b",
        &Spec {
            rpath: Some(t.path("c")),
            ..prog(&interp, &["libsbxchain0.so"])
        },
    );
    let m = libraries_for_binary(&bin, &[]).unwrap_err().to_string();
    assert!(m.contains("deeper than"), "{m}");
}

#[test]
fn dst_expansion_and_normalize() {
    let r = Resolver::new(true, EM_X86_64);
    let e = |s: &str| -> Vec<String> {
        r.expand(s.as_bytes(), b"/o")
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect()
    };
    assert_eq!(e("$ORIGIN/x:${ORIGIN}"), vec!["/o/x:/o"]);
    assert_eq!(
        e("$ORIGINAL/$FOO/${ORIGIN"),
        vec!["$ORIGINAL/$FOO/${ORIGIN"]
    );
    assert_eq!(
        e("/p/$LIB"),
        vec!["/p/lib/x86_64-linux-gnu", "/p/lib64", "/p/lib"]
    );
    assert_eq!(e("/p/${PLATFORM}").len(), 3);
    assert!(Resolver::new(true, 999)
        .expand(b"/$PLATFORM", b"/")
        .is_empty());
    assert_eq!(
        normalize(Path::new("/a/./b/../c//d/")),
        PathBuf::from("/a/c/d")
    );
    assert_eq!(normalize(Path::new("/../..")), PathBuf::from("/"));
}
