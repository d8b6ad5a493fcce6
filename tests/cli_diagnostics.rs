//! `chunkwise run --trace` and `chunkwise visualize` on a graph file.

use chunkwise::Array;
use chunkwise_ir::serial;
use std::process::Command;

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("chunkwise-cli-diag-{}-{name}", std::process::id()))
}

fn graph(name: &str) -> std::path::PathBuf {
    let x = Array::random_uniform(&[200, 200], &[50, 50], 3).unwrap();
    let y = (x.exp() - 1.0).sum(Some(&[1]), false).unwrap();
    let path = temp(name);
    std::fs::write(&path, serial::to_json(&[y.node().unwrap().clone()])).unwrap();
    path
}

fn cli(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chunkwise"))
        .args(args)
        .output()
        .unwrap();
    (out.status.success(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn run_writes_a_trace_with_one_event_per_task() {
    let g = graph("run.json");
    let (out, trace) = (temp("out.npy"), temp("trace.json"));
    let (ok, err) = cli(&[
        "run",
        g.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&trace).unwrap()).unwrap();
    let tasks = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .count();
    // 16 fused chunk tasks (random + exp - 1 + partial sum), 4 aggregates.
    assert_eq!(tasks, 16 + 4, "{err}");
    assert!(err.contains("trace of 20 tasks written"), "{err}");
    for p in [g, out, trace] {
        std::fs::remove_file(p).ok();
    }
}

#[test]
fn visualize_writes_dot_and_explains_missing_graphviz() {
    let g = graph("visualize.json");
    let dot = temp("tasks.dot");
    let (ok, err) = cli(&[
        "visualize",
        g.to_str().unwrap(),
        "--out",
        dot.to_str().unwrap(),
        "--level",
        "tasks",
    ]);
    assert!(ok, "{err}");
    let text = std::fs::read_to_string(&dot).unwrap();
    assert!(text.starts_with("digraph"));
    let svg = temp("layers.svg");
    let (ok, err) = cli(&[
        "visualize",
        g.to_str().unwrap(),
        "--out",
        svg.to_str().unwrap(),
    ]);
    if std::process::Command::new("dot").arg("-V").output().is_ok() {
        assert!(ok, "{err}");
        std::fs::remove_file(&svg).ok();
    } else {
        assert!(!ok);
        assert!(err.contains("apt-get install graphviz"), "{err}");
    }
    for p in [g, dot] {
        std::fs::remove_file(p).ok();
    }
}
