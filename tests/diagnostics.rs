//! Diagnostics: per-task traces (Chrome trace JSON), graph pictures, progress callbacks.

use chunkwise::visualize::{dot, visualize, Level};
use chunkwise::{Array, ComputeOptions, Trace};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

fn workload() -> Array {
    let x = Array::random_uniform(&[400, 300], &[100, 100], 4).unwrap();
    let y = &x * 2.0
        + x.t()
            .unwrap()
            .slice(&[chunkwise::s(..300)])
            .unwrap()
            .t()
            .unwrap();
    y.mean(Some(&[0]), false).unwrap()
}

fn temp(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("chunkwise-diag-{}-{name}", std::process::id()))
}

#[test]
fn trace_has_one_event_per_task_and_is_valid_chrome_json() {
    let y = workload();
    let g = y.plan().unwrap();
    let trace = Trace::new();
    let opts = ComputeOptions {
        threads: 2,
        trace: Some(&trace),
        ..ComputeOptions::default()
    };
    y.compute_with::<f64>(&opts).unwrap();
    let events = trace.events();
    assert_eq!(events.len(), g.len());
    let mut tasks: Vec<u32> = events.iter().map(|e| e.task).collect();
    tasks.sort_unstable();
    tasks.dedup();
    assert_eq!(tasks.len(), g.len(), "each task once");
    for e in &events {
        let stage = &g.stages[g.task_stage[e.task as usize] as usize];
        assert_eq!(e.label, stage.label());
        assert_eq!(e.block, g.block_of(e.task));
        assert!(e.start_us >= 0.0 && e.duration_us >= 0.0);
        assert!(e.bytes > 0, "{e:?}");
        assert!(!e.failed);
    }
    let path = temp("trace.json");
    trace.write(&path).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let evs = v["traceEvents"].as_array().unwrap();
    let complete: Vec<_> = evs.iter().filter(|e| e["ph"] == "X").collect();
    assert_eq!(complete.len(), g.len());
    for e in &complete {
        for key in ["name", "ts", "dur", "pid", "tid"] {
            assert!(!e[key].is_null(), "{key} missing in {e}");
        }
        assert!(e["tid"].as_u64().unwrap() < 2, "two workers");
    }
    let names = evs.iter().filter(|e| e["ph"] == "M").count();
    assert!((1..=2).contains(&names));
    std::fs::remove_file(path).ok();
}

#[test]
fn a_failing_task_is_in_the_trace() {
    let x = Array::random_uniform(&[100], &[10], 1).unwrap();
    let y = x
        .map_blocks::<f64, f64>("explode", |b| {
            if b[0] > 2.0 {
                b.to_owned()
            } else {
                panic!("boom")
            }
        })
        .unwrap();
    let trace = Trace::new();
    let r = y.compute_with::<f64>(&ComputeOptions {
        threads: 1,
        trace: Some(&trace),
        ..ComputeOptions::default()
    });
    assert!(r.is_err());
    let failed: Vec<_> = trace.events().into_iter().filter(|e| e.failed).collect();
    assert_eq!(failed.len(), 1, "one task ran and failed (one thread)");
    assert!(failed[0].label.starts_with("explode"), "{:?}", failed[0]);
    let v: serde_json::Value = serde_json::from_str(&trace.to_chrome_json()).unwrap();
    let cats: Vec<&str> = v["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["cat"].as_str())
        .collect();
    assert!(cats.contains(&"failed"), "{cats:?}");
}

#[test]
fn progress_callback_reaches_the_total() {
    let y = workload();
    let last = AtomicU64::new(0);
    let total = AtomicU64::new(0);
    let calls = Mutex::new(0usize);
    let cb = |p: chunkwise::Progress| {
        assert!(p.done >= last.load(Ordering::SeqCst));
        last.store(p.done, Ordering::SeqCst);
        total.store(p.total, Ordering::SeqCst);
        *calls.lock().unwrap() += 1;
    };
    y.compute_with::<f64>(&ComputeOptions {
        progress: Some(&cb),
        ..ComputeOptions::default()
    })
    .unwrap();
    assert_eq!(last.load(Ordering::SeqCst), y.plan().unwrap().len() as u64);
    assert_eq!(total.load(Ordering::SeqCst), y.plan().unwrap().len() as u64);
    assert!(*calls.lock().unwrap() >= 2);
}

#[test]
fn dot_pictures_at_every_level() {
    let y = workload();
    for level in [Level::Layers, Level::OptimizedLayers, Level::Tasks] {
        let text = dot(&[&y], level).unwrap();
        assert!(text.starts_with("digraph"), "{text}");
        assert!(text.trim_end().ends_with('}'));
    }
    let tasks = dot(&[&y], Level::Tasks).unwrap();
    assert_eq!(
        tasks.matches(" -> ").count(),
        y.plan().unwrap().deps.len(),
        "one edge per dependency"
    );
    let path = temp("graph.dot");
    visualize(&[&y], Level::Layers, &path).unwrap();
    assert!(std::fs::read_to_string(&path)
        .unwrap()
        .starts_with("digraph"));
    std::fs::remove_file(&path).ok();
}

#[test]
fn rendering_needs_dot_and_says_how_to_install_it() {
    let y = workload();
    let path = temp("graph.svg");
    let have_dot = std::process::Command::new("dot").arg("-V").output().is_ok();
    match visualize(&[&y], Level::OptimizedLayers, &path) {
        Ok(()) => {
            assert!(have_dot);
            let svg = std::fs::read_to_string(&path).unwrap();
            assert!(svg.contains("<svg"), "{svg}");
            std::fs::remove_file(&path).ok();
        }
        Err(e) => {
            assert!(!have_dot, "dot is installed but rendering failed: {e}");
            eprintln!("skipping the SVG check: `dot` is not installed here");
            assert!(e.to_string().contains("apt-get install graphviz"), "{e}");
            assert!(!path.exists(), "no partial picture");
        }
    }
    let bad = visualize(&[&y], Level::Layers, temp("graph.bmp")).unwrap_err();
    assert!(bad.to_string().contains("unknown picture format"), "{bad}");
}
