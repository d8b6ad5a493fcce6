//! `chunkwise run --out`: what an output path may name (never a device, FIFO or symbolic
//! link), `--overwrite` for Zarr outputs, and `--spill-dir`.

use chunkwise::Array;
use chunkwise_ir::serial;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A fresh, empty directory of this test's own.
fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!(
        "chunkwise-cli-outputs-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A graph file of one output in `dir`, and its value.
fn graph(dir: &Path) -> (PathBuf, ndarray::ArrayD<f64>) {
    let x = Array::random_uniform(&[200, 120], &[50, 40], 3).unwrap();
    let y = (x.exp() - 1.0).sum(Some(&[1]), false).unwrap();
    let path = dir.join("graph.json");
    std::fs::write(&path, serial::to_json(&[y.node().unwrap().clone()])).unwrap();
    (path, y.compute().unwrap())
}

fn run(g: &Path, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_chunkwise"))
        .arg("run")
        .arg(g)
        .arg("--out")
        .arg(out)
        .arg("--quiet")
        .args(extra)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The run failed cleanly (exit 1), with an error naming `path` and containing `what`.
fn assert_refused(out: &Output, path: &Path, what: &str) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{}: {err}", path.display());
    assert!(err.contains(&path.display().to_string()), "{err}");
    assert!(err.contains(what), "{err}");
}

#[cfg(unix)]
#[test]
fn an_output_that_is_a_fifo_or_a_symlink_is_refused_and_left_alone() {
    use std::os::unix::fs::FileTypeExt as _;
    let dir = temp_dir("special");
    let (g, _) = graph(&dir);
    // A FIFO (`--out /dev/null`, as root, would be the same: rename replaces it).
    let fifo = dir.join("pipe.npy");
    let made = Command::new("mkfifo").arg(&fifo).status();
    if made.is_ok_and(|s| s.success()) {
        let out = run(&g, &fifo, &[]);
        assert_refused(&out, &fifo, "a FIFO");
        let ft = std::fs::symlink_metadata(&fifo).unwrap().file_type();
        assert!(ft.is_fifo(), "the FIFO was replaced");
        // The same for a Zarr output.
        let zfifo = dir.join("pipe.zarr");
        assert!(Command::new("mkfifo")
            .arg(&zfifo)
            .status()
            .unwrap()
            .success());
        assert_refused(&run(&g, &zfifo, &[]), &zfifo, "a FIFO");
        assert!(std::fs::symlink_metadata(&zfifo)
            .unwrap()
            .file_type()
            .is_fifo());
    }
    // A symbolic link, to a regular file: neither the link nor its target changes.
    let target = dir.join("target.npy");
    std::fs::write(&target, b"precious").unwrap();
    let link = dir.join("link.npy");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    assert_refused(&run(&g, &link, &[]), &link, "a symbolic link");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&target).unwrap(), b"precious");
    // A dangling link is refused too.
    let dangling = dir.join("dangling.npy");
    std::os::unix::fs::symlink(dir.join("nowhere.npy"), &dangling).unwrap();
    assert_refused(&run(&g, &dangling, &[]), &dangling, "a symbolic link");
    assert!(!dir.join("nowhere.npy").exists());
    // A link to a directory, as a Zarr output.
    let zdir = dir.join("real.zarr");
    std::fs::create_dir(&zdir).unwrap();
    let zlink = dir.join("link.zarr");
    std::os::unix::fs::symlink(&zdir, &zlink).unwrap();
    assert_refused(&run(&g, &zlink, &[]), &zlink, "a symbolic link");
    assert_eq!(std::fs::read_dir(&zdir).unwrap().count(), 0);
    // A directory named `.npy` is refused before anything runs.
    let d = dir.join("adir.npy");
    std::fs::create_dir(&d).unwrap();
    assert_refused(&run(&g, &d, &[]), &d, "a directory");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_new_path_or_an_existing_regular_file_is_written() {
    let dir = temp_dir("regular");
    let (g, want) = graph(&dir);
    let out_path = dir.join("y.npy");
    for round in 0..2 {
        // Round 0: a new path; round 1: an existing regular file, replaced.
        let out = run(&g, &out_path, &[]);
        assert!(out.status.success(), "round {round}: {}", text(&out.stderr));
        let got = chunkwise::npy::read_npy(&out_path).unwrap();
        assert_eq!(got.as_typed::<f64>().unwrap(), want.view());
    }
    // No temporary file is left behind.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.contains("tmp")),
        "leftovers: {names:?}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn an_existing_zarr_output_needs_overwrite() {
    let dir = temp_dir("overwrite");
    let (g, want) = graph(&dir);
    let z = dir.join("y.zarr");
    let out = run(&g, &z, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Again: refused, naming the flag, and the array is untouched.
    let out = run(&g, &z, &[]);
    assert_refused(&out, &z, "--overwrite");
    assert!(z.join("zarr.json").is_file());
    // With --overwrite: replaced, and it reads back.
    let out = run(&g, &z, &["--overwrite"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let got = Array::from_zarr(z.to_str().unwrap())
        .unwrap()
        .compute::<f64>()
        .unwrap();
    assert_eq!(got, want);
    // --overwrite never replaces a directory that is not a Zarr array.
    let other = dir.join("other.zarr");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("keep.txt"), b"keep").unwrap();
    let out = run(&g, &other, &["--overwrite"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(std::fs::read(other.join("keep.txt")).unwrap(), b"keep");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn spill_dir_is_where_a_run_under_a_memory_limit_spills() {
    let dir = temp_dir("spill");
    let spill = dir.join("spill");
    std::fs::create_dir(&spill).unwrap();
    // x - x.mean(axis 0): every block of x is read by the mean and again by the
    // subtraction, so under 5 MB (2 workers) blocks are held over the limit and spilled.
    let x = Array::random_uniform(&[8000, 100], &[1000, 100], 5).unwrap();
    // Row sums of the centred x: a small output (the limit counts the outputs too).
    let y = (&x - x.mean(Some(&[0]), true).unwrap())
        .sum(Some(&[1]), false)
        .unwrap();
    let want = y.compute::<f64>().unwrap();
    let g = dir.join("graph.json");
    std::fs::write(&g, serial::to_json(&[y.node().unwrap().clone()])).unwrap();
    let trace = dir.join("trace.json");
    let limited = |out_path: &Path, spill_dir: Option<&Path>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_chunkwise"));
        c.arg("run").arg(&g).arg("--out").arg(out_path);
        c.args(["--memory-limit", "5M", "--threads", "2", "--trace"]);
        c.arg(&trace);
        if let Some(d) = spill_dir {
            c.arg("--spill-dir").arg(d);
        }
        // The system's temporary directory does not exist: spills go to --spill-dir or
        // nowhere (a chunk that cannot be spilled stays in memory).
        c.env("TMPDIR", dir.join("no-such-tmp"));
        c.output().unwrap()
    };
    for out_path in [dir.join("y.npy"), dir.join("y.zarr")] {
        let out = limited(&out_path, Some(&spill));
        let err = text(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(err.contains("chunks spilled"), "nothing spilled: {err}");
        let got = if out_path.extension().unwrap() == "npy" {
            chunkwise::npy::read_npy(&out_path)
                .unwrap()
                .as_typed::<f64>()
                .unwrap()
                .to_owned()
        } else {
            Array::from_zarr(out_path.to_str().unwrap())
                .unwrap()
                .compute::<f64>()
                .unwrap()
        };
        assert_eq!(got, want);
        // The run's private spill directory is gone.
        let left: Vec<_> = std::fs::read_dir(&spill).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }
    // Without --spill-dir the same run has nowhere to spill (TMPDIR is missing), but still
    // completes, holding the chunks.
    let out = limited(&dir.join("w.npy"), None);
    let err = text(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("chunks spilled"), "{err}");
    // A --spill-dir that is not a directory is refused before anything runs.
    let not_dir = dir.join("w.npy");
    let out = limited(&dir.join("v.npy"), Some(&not_dir));
    assert_refused(&out, &not_dir, "not a directory");
    assert!(!dir.join("v.npy").exists());
    // Without a memory limit there is nothing to spill: the flag is refused.
    let out = run(
        &g,
        &dir.join("z.npy"),
        &["--spill-dir", spill.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("--memory-limit"));
    std::fs::remove_dir_all(&dir).unwrap();
}
