//! `chunkwise run` and `chunkwise demo` on hostile input: bad arguments are clean errors,
//! closed or failing standard streams never make the command panic (exit code 101), and
//! `--quiet` is quiet.

use chunkwise::Array;
use chunkwise_ir::serial;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn temp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("chunkwise-cli-run-{}-{name}", std::process::id()))
}

/// A graph file of two outputs, and their values.
fn graph(name: &str) -> (PathBuf, Vec<ndarray::ArrayD<f64>>) {
    let x = Array::random_uniform(&[200, 120], &[50, 40], 3).unwrap();
    let y = (x.exp() - 1.0).sum(Some(&[1]), false).unwrap();
    let z = x.mean(Some(&[0]), false).unwrap();
    let path = temp(name);
    let nodes = [y.node().unwrap().clone(), z.node().unwrap().clone()];
    std::fs::write(&path, serial::to_json(&nodes)).unwrap();
    (path, vec![y.compute().unwrap(), z.compute().unwrap()])
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_chunkwise"))
}

fn run_args(g: &Path, outs: &[PathBuf]) -> Vec<String> {
    let mut args = vec!["run".to_string(), g.display().to_string()];
    for o in outs {
        args.push("--out".into());
        args.push(o.display().to_string());
    }
    args
}

fn assert_outputs(outs: &[PathBuf], want: &[ndarray::ArrayD<f64>], what: &str) {
    for (o, w) in outs.iter().zip(want) {
        let got = chunkwise::npy::read_npy(o).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(
            got.as_typed::<f64>().unwrap(),
            w.view(),
            "{what}: {}",
            o.display()
        );
        std::fs::remove_file(o).unwrap();
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn demo_refuses_an_empty_or_unchunked_input_without_panicking() {
    for (flag, value) in [("--size", "0"), ("--chunk", "0")] {
        let out = bin().args(["demo", flag, value]).output().unwrap();
        let err = text(&out.stderr);
        assert_ne!(
            out.status.code(),
            Some(101),
            "{flag} {value} panicked: {err}"
        );
        assert!(!out.status.success(), "{flag} {value}: {err}");
        assert!(err.contains(flag), "{flag} {value}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn run_with_a_full_or_broken_stderr_still_writes_every_output() {
    let (g, want) = graph("stderr.json");
    let outs = [temp("stderr-y.npy"), temp("stderr-z.npy")];
    // A full device: every write to stderr fails (ENOSPC).
    if Path::new("/dev/full").exists() {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let status = bin()
            .args(run_args(&g, &outs))
            .stderr(full)
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(0), "stderr on /dev/full");
        assert_outputs(&outs, &want, "stderr on /dev/full");
    }
    // A pipe nobody reads: every write to stderr fails (EPIPE).
    let mut child = bin()
        .args(run_args(&g, &outs))
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stderr.take());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr a broken pipe");
    assert_outputs(&outs, &want, "stderr a broken pipe");
    // A closed descriptor (the Rust runtime reopens it on /dev/null).
    // (`sh -c CMD BIN ARGS..`: the binary is $0, its arguments $@.)
    let cmd = "exec \"$0\" \"$@\" 2>&-";
    let status = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .arg(env!("CARGO_BIN_EXE_chunkwise"))
        .args(run_args(&g, &outs))
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0), "stderr closed");
    assert_outputs(&outs, &want, "stderr closed");
    std::fs::remove_file(g).ok();
}

#[test]
fn a_failing_stdout_is_a_clean_error() {
    if !Path::new("/dev/full").exists() {
        return;
    }
    let (g, _) = graph("stdout.json");
    let full = || {
        std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap()
    };
    for args in [
        vec!["dump", g.to_str().unwrap(), "--format", "json"],
        vec!["explain", g.to_str().unwrap()],
    ] {
        let out: Output = bin().args(&args).stdout(full()).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            text(&out.stderr).contains("standard output"),
            "{args:?}: {}",
            text(&out.stderr)
        );
        // Both streams failing: still no panic.
        let status = bin()
            .args(&args)
            .stdout(full())
            .stderr(full())
            .status()
            .unwrap();
        assert_eq!(status.code(), Some(1), "{args:?}");
    }
    std::fs::remove_file(g).ok();
}

#[test]
fn quiet_prints_nothing_but_errors() {
    let (g, want) = graph("quiet.json");
    let outs = [temp("quiet-y.npy"), temp("quiet-z.npy")];
    let trace = temp("quiet-trace.json");
    let mut args = run_args(&g, &outs);
    args.extend(["--trace".into(), trace.display().to_string()]);
    let out = bin().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("wrote") && err.contains("tasks in"), "{err}");
    assert!(err.contains("trace of"), "{err}");
    assert_outputs(&outs, &want, "not quiet");
    args.push("--quiet".into());
    let out = bin().args(&args).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "", "--quiet printed status lines");
    assert_eq!(text(&out.stdout), "");
    assert_outputs(&outs, &want, "quiet");
    assert!(trace.exists());
    // Errors are still reported.
    let mut args = run_args(&g, &outs[..1]);
    args.push("--quiet".into());
    let out = bin().args(&args).output().unwrap();
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("2 outputs"),
        "{}",
        text(&out.stderr)
    );
    for p in [g, trace] {
        std::fs::remove_file(p).ok();
    }
}

#[test]
fn an_unknown_output_extension_is_refused() {
    let (g, _) = graph("ext.json");
    for bad in ["ext-z.csv", "ext-z", "ext-z.npy.tmp"] {
        let outs = [temp("ext-y.npy"), temp(bad)];
        let out = bin().args(run_args(&g, &outs)).output().unwrap();
        let err = text(&out.stderr);
        assert!(!out.status.success(), "{bad}: {err}");
        assert!(err.contains(".npy, .zarr"), "{bad}: {err}");
        assert!(err.contains(bad), "{bad}: {err}");
        // Refused before anything runs: no output written.
        for o in &outs {
            assert!(!o.exists(), "{} written", o.display());
        }
    }
    // Extensions are case-insensitive.
    let outs = [temp("ext-y.NPY"), temp("ext-z.npy")];
    let out = bin().args(run_args(&g, &outs)).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    for o in &outs {
        std::fs::remove_file(o).unwrap();
    }
    std::fs::remove_file(g).ok();
}
