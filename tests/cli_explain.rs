//! `chunkwise explain` on graph files: the pass table, JSON output, errors.

use chunkwise::Array;
use chunkwise_ir::serial;
use std::process::Command;

fn graph_file(name: &str) -> std::path::PathBuf {
    let x = Array::random_uniform(&[1000], &[100], 1).unwrap();
    let y = (x.exp() - 1.0 / &x).sum(None, false).unwrap();
    let path = std::env::temp_dir().join(format!(
        "chunkwise-explain-{}-{name}.json",
        std::process::id()
    ));
    std::fs::write(&path, serial::to_json(&[y.node().unwrap().clone()])).unwrap();
    path
}

fn explain(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_chunkwise"))
        .arg("explain")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn json_report_has_every_pass_and_the_lowered_count() {
    let path = graph_file("json");
    let (ok, out, err) = explain(&[path.to_str().unwrap(), "--json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["report"]["initial"]["layers"], 5);
    assert_eq!(v["lowered_tasks"], 10 + 3 + 1);
    assert_eq!(v["unoptimized_tasks_estimate"], 4 * 10 + 10 + 3 + 1);
    assert_eq!(v["needed_blocks"][0]["needed"], 1);
    let records = v["report"]["records"].as_array().unwrap();
    for pass in chunkwise::PassManager::standard().pass_names() {
        assert!(records.iter().any(|r| r["pass"] == pass), "{pass} missing");
    }
    let last = records.last().unwrap();
    assert_eq!(last["after"]["layers"], 1);
    std::fs::remove_file(path).ok();
}

#[test]
fn text_table_and_graphs_after_each_pass() {
    let path = graph_file("text");
    let (ok, out, err) = explain(&[path.to_str().unwrap(), "--graphs"]);
    assert!(ok, "{err}");
    assert!(out.contains("blockwise-fusion"), "{out}");
    assert!(out.contains("--- after reduction-fusion"), "{out}");
    assert!(
        out.contains("lowered: 14 tasks (54 estimated without optimization)"),
        "{out}"
    );
    assert!(out.contains("culling: needed blocks"), "{out}");
    let (ok, out, _) = explain(&[path.to_str().unwrap(), "--without", "reduction-fusion"]);
    assert!(ok);
    assert!(!out.contains("reduction-fusion"), "{out}");
    std::fs::remove_file(path).ok();
}

#[test]
fn bad_input_is_a_clean_error() {
    let path = graph_file("bad");
    let (ok, _, err) = explain(&[path.to_str().unwrap(), "--without", "no-such-pass"]);
    assert!(!ok);
    assert!(err.contains("no such pass"), "{err}");
    let bad = std::env::temp_dir().join(format!(
        "chunkwise-explain-{}-malformed.json",
        std::process::id()
    ));
    std::fs::write(&bad, "{\"format\": \"chunkwise-graph\"").unwrap();
    let (ok, _, err) = explain(&[bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.starts_with("error:"), "{err}");
    let (ok, _, err) = explain(&["/nonexistent/graph.json"]);
    assert!(!ok);
    assert!(err.contains("/nonexistent/graph.json"), "{err}");
    std::fs::remove_file(path).ok();
    std::fs::remove_file(bad).ok();
}

#[test]
fn huge_graphs_are_explained_without_lowering_everything() {
    let x = Array::ones(&[10_000_000_000], &[10], chunkwise::DType::F64).unwrap() + 1.0;
    let first = x.slice(&[chunkwise::s(0)]).unwrap();
    let path = std::env::temp_dir().join(format!(
        "chunkwise-explain-{}-huge.json",
        std::process::id()
    ));
    std::fs::write(
        &path,
        serial::to_json(&[x.node().unwrap().clone(), first.node().unwrap().clone()]),
    )
    .unwrap();
    let (ok, out, err) = explain(&[path.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains("not lowered: about 1000000001 tasks"), "{out}");
    assert!(out.contains(": 1000000000 of 1000000000"), "{out}");
    std::fs::remove_file(path).ok();
}

/// Every row of the pass table has the header's columns: the pass column is as wide as
/// the longest pass name (`transpose-blockwise` is longer than a fixed 18).
#[test]
fn the_pass_table_is_aligned_for_every_pass_name() {
    let path = graph_file("aligned");
    let (ok, out, err) = explain(&[path.to_str().unwrap()]);
    assert!(ok, "{err}");
    let table: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("phase "))
        .take_while(|l| !l.starts_with("lowered:") && !l.starts_with("not lowered:"))
        .collect();
    let header = table[0];
    let width = header.chars().count();
    // Where each right-aligned column ends in the header.
    let ends: Vec<usize> = [
        "round",
        "chg",
        "layers",
        "tasks",
        "read",
        "moved",
        "peak/task",
    ]
    .iter()
    .map(|c| header.find(c).unwrap() + c.len())
    .collect();
    for pass in chunkwise::PassManager::standard().pass_names() {
        let row = table
            .iter()
            .find(|l| l.split_whitespace().nth(1) == Some(pass))
            .unwrap_or_else(|| panic!("no row for {pass}:\n{out}"));
        assert_eq!(row.chars().count(), width, "{pass}:\n{header}\n{row}");
        let cells = row.as_bytes();
        for &e in &ends {
            assert!(
                cells[e - 1] != b' ' && cells.get(e).is_none_or(|c| *c == b' '),
                "{pass}: a column ending at {e} is misaligned:\n{header}\n{row}"
            );
        }
    }
    std::fs::remove_file(path).ok();
}
