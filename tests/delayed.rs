//! The `delayed` API: lazy calls, mixing with arrays, errors, parallelism.

// Delayed functions take `&T` for the `T` a value is stored as (`&String`, `&Vec<_>`).
#![allow(clippy::ptr_arg)]

use chunkwise::delayed::{compute2, compute_many, Delayed};
use chunkwise::{delayed, Array, ComputeOptions, Error};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn inc(x: &i64) -> i64 {
    x + 1
}
fn dec(x: &i64) -> i64 {
    x - 1
}
fn add(a: &i64, b: &i64) -> i64 {
    a + b
}

#[test]
fn lazy_calls_mix_plain_and_lazy_arguments() {
    let x = delayed!(inc(1));
    let y = delayed!(dec(2));
    let z = delayed!(add(&x, &y));
    let w = delayed!(add(z.clone(), 10));
    assert_eq!(*w.compute().unwrap(), 13);
    assert_eq!(*z.compute().unwrap(), 3);
    assert!(w.key().starts_with("add-"));
    let (a, b) = compute2(&x, &y).unwrap();
    assert_eq!((*a, *b), (2, 1));
}

#[test]
fn any_value_type_and_closures() {
    #[derive(Debug, PartialEq)]
    struct Record {
        name: String,
        values: Vec<f64>,
    }
    let r = delayed::call2(
        "make",
        |n: &String, k: &usize| Record {
            name: n.clone(),
            values: (0..*k).map(|i| i as f64).collect(),
        },
        "abc".to_string(),
        4usize,
    );
    let total = delayed::call1("total", |r: &Record| r.values.iter().sum::<f64>(), &r);
    assert_eq!(*total.compute().unwrap(), 6.0);
    assert_eq!(r.compute().unwrap().name, "abc");
}

#[test]
fn shared_work_runs_once() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    fn counted(x: &i64) -> i64 {
        CALLS.fetch_add(1, Ordering::SeqCst);
        x * 2
    }
    let base = delayed!(counted(21));
    let outs: Vec<Delayed<i64>> = (0..5).map(|i| delayed!(add(&base, i))).collect();
    let vals = compute_many(&outs, &ComputeOptions::default()).unwrap();
    assert_eq!(
        vals.iter().map(|v| **v).collect::<Vec<_>>(),
        vec![42, 43, 44, 45, 46]
    );
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
}

#[test]
fn only_needed_tasks_run() {
    static CALLS: AtomicUsize = AtomicUsize::new(0);
    fn counted(x: &i64) -> i64 {
        CALLS.fetch_add(1, Ordering::SeqCst);
        *x
    }
    let a = delayed!(counted(1));
    let _unused = delayed!(counted(&a));
    let b = delayed!(inc(&a));
    assert_eq!(*b.compute().unwrap(), 2);
    assert_eq!(CALLS.load(Ordering::SeqCst), 1);
}

#[test]
fn arrays_to_delayed_and_back() {
    let x = Array::random_uniform(&[6, 4], &[3, 2], 5).unwrap();
    // A reduction's value into a delayed call.
    let total = x.sum(None, false).unwrap();
    let doubled = delayed::call1(
        "double",
        |a: &chunkwise::DynArray| a.as_typed::<f64>().unwrap().iter().next().unwrap() * 2.0,
        total.to_delayed().unwrap(),
    );
    let want = x.compute::<f64>().unwrap().sum() * 2.0;
    assert!((*doubled.compute().unwrap() - want).abs() < 1e-12);
    // Blocks through delayed functions and back into an array.
    let parts: Vec<Delayed<ndarray::ArrayD<f64>>> = x
        .to_delayed_blocks()
        .unwrap()
        .iter()
        .map(|b| {
            delayed::call1(
                "negate",
                |a: &chunkwise::DynArray| a.as_typed::<f64>().unwrap().mapv(|v| -v),
                b,
            )
        })
        .collect();
    let back = Array::from_delayed(&parts, &[vec![3, 3], vec![2, 2]]).unwrap();
    let neg = back.compute::<f64>().unwrap();
    assert_eq!(neg, x.compute::<f64>().unwrap().mapv(|v| -v));
    // And arrays built from delayed blocks compose with array operations.
    let s = (&back * 2.0)
        .sum(None, false)
        .unwrap()
        .compute::<f64>()
        .unwrap();
    assert!((s.iter().next().unwrap() + want).abs() < 1e-9);
}

#[test]
fn wrong_block_shape_names_the_task() {
    let part = delayed::call0("bad_block", || {
        ndarray::ArrayD::<f64>::zeros(ndarray::IxDyn(&[3]))
    });
    let a = Array::from_delayed(&[part], &[vec![4]]).unwrap();
    let e = a.compute::<f64>().unwrap_err().to_string();
    assert!(e.contains("bad_block-"), "{e}");
    assert!(e.contains("shape [3]"), "{e}");
}

#[test]
fn failures_name_the_task_and_its_inputs() {
    fn parse(s: &String) -> Result<i64, std::num::ParseIntError> {
        s.parse()
    }
    let good = delayed!(try parse("12".to_string()));
    let bad = delayed!(try parse("x1".to_string()));
    let sum = delayed!(add(&good, &bad));
    let e = sum.compute().unwrap_err();
    let text = e.to_string();
    assert!(text.contains("parse-"), "{text}");
    assert!(text.contains("invalid digit"), "{text}");
    // The panicking case names the function and the inputs it read.
    fn boom(_a: &i64, _b: &i64) -> i64 {
        panic!("exploded")
    }
    let shared = delayed!(inc(1));
    let left = delayed!(inc(&shared));
    let p = delayed!(boom(&shared, &left));
    match p.compute().unwrap_err() {
        Error::Panicked {
            layer,
            inputs,
            message,
            ..
        } => {
            assert!(layer.starts_with("boom-"), "{layer}");
            assert!(message.contains("exploded"));
            assert_eq!(inputs, vec![shared.key(), left.key()]);
        }
        other => panic!("unexpected {other}"),
    }
    // The graph is still usable afterwards.
    assert_eq!(*good.compute().unwrap(), 12);
}

#[test]
fn independent_sleeps_run_in_parallel() {
    fn slow(x: &i64) -> i64 {
        std::thread::sleep(Duration::from_millis(50));
        *x
    }
    let parts: Vec<Delayed<i64>> = (0..8).map(|i| delayed!(slow(i))).collect();
    let t = Instant::now();
    let opts = ComputeOptions {
        threads: 8,
        ..ComputeOptions::default()
    };
    let v = compute_many(&parts, &opts).unwrap();
    let elapsed = t.elapsed();
    assert_eq!(v.iter().map(|x| **x).sum::<i64>(), 28);
    // Eight 50 ms sleeps on 8 workers take about 50 ms, not 400 (generous bound).
    assert!(elapsed < Duration::from_millis(300), "{elapsed:?}");
}

#[test]
fn delayed_values_and_arcs() {
    let data = delayed::value("data", vec![1.0f64, 2.0, 3.0]);
    let mean = delayed::call1(
        "mean",
        |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64,
        &data,
    );
    let m: Arc<f64> = mean.compute().unwrap();
    assert_eq!(*m, 2.0);
}

#[test]
fn linear_chains_fuse_into_one_task() {
    let mut x = delayed!(inc(0));
    for _ in 0..5 {
        x = delayed!(inc(&x));
    }
    let g = chunkwise::compute::plan(&[x.node().clone()], None).unwrap();
    assert_eq!(g.len(), 1, "{g}");
    assert_eq!(*x.compute().unwrap(), 6);
    // A diamond does not fuse (the shared call runs once).
    let a = delayed!(inc(1));
    let d = delayed!(add(&a, &a));
    let g = chunkwise::compute::plan(&[d.node().clone()], None).unwrap();
    assert_eq!(g.len(), 2, "{g}");
    assert_eq!(*d.compute().unwrap(), 4);
    // An inner failure keeps its own key in the message.
    fn check(x: &i64) -> Result<i64, String> {
        if *x > 2 {
            Err(format!("{x} is too large"))
        } else {
            Ok(*x)
        }
    }
    let c = delayed!(try check(5));
    let key = c.key();
    let e = delayed!(inc(&c)).compute().unwrap_err().to_string();
    assert!(e.contains(&key) && e.contains("5 is too large"), "{e}");
}

#[test]
fn independent_work_survives_a_failure() {
    use chunkwise::delayed::compute_each;
    static RAN: AtomicUsize = AtomicUsize::new(0);
    fn work(x: &i64) -> Result<i64, String> {
        RAN.fetch_add(1, Ordering::SeqCst);
        if *x == 3 {
            Err("three is not allowed".into())
        } else {
            Ok(x * 10)
        }
    }
    let parts: Vec<Delayed<i64>> = (0..6).map(|x| delayed!(try work(x))).collect();
    let sums: Vec<Delayed<i64>> = parts.iter().map(|p| delayed!(add(p, 1))).collect();
    let out = compute_each(
        &sums,
        &ComputeOptions {
            threads: 3,
            ..ComputeOptions::default()
        },
    )
    .unwrap();
    assert_eq!(RAN.load(Ordering::SeqCst), 6, "every independent call ran");
    for (x, r) in out.iter().enumerate() {
        if x == 3 {
            let e = r.as_ref().unwrap_err().to_string();
            assert!(
                e.contains(&parts[3].key()) && e.contains("three is not allowed"),
                "{e}"
            );
        } else {
            assert_eq!(**r.as_ref().unwrap(), x as i64 * 10 + 1);
        }
    }
}

#[test]
fn delayed_graphs_are_drawn_and_traced() {
    use chunkwise::visualize::{dot_nodes, Level};
    let a = delayed!(inc(1));
    let b = delayed!(dec(&a));
    let c = delayed!(add(&a, &b));
    let text = dot_nodes(&[c.node().clone()], Level::Layers).unwrap();
    assert!(
        text.contains("delayed call") && text.contains("add-"),
        "{text}"
    );
    assert_eq!(text.matches(" -> ").count(), 3);
    let tasks = dot_nodes(&[c.node().clone()], Level::Tasks).unwrap();
    assert!(tasks.starts_with("digraph"));
    let trace = chunkwise::Trace::new();
    c.compute_with(&ComputeOptions {
        trace: Some(&trace),
        ..ComputeOptions::default()
    })
    .unwrap();
    let g = chunkwise::compute::plan(&[c.node().clone()], None).unwrap();
    assert_eq!(trace.len(), g.len());
    let v: serde_json::Value = serde_json::from_str(&trace.to_chrome_json()).unwrap();
    assert_eq!(
        v["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
            .count(),
        g.len()
    );
}

#[test]
fn readme_example() {
    use chunkwise::delayed::{call1, gather};
    let parts: Vec<_> = (0..10)
        .map(|i| delayed!(add(delayed!(inc(i)), 100)))
        .collect();
    let total = call1(
        "total",
        |v: &Vec<Arc<i64>>| v.iter().map(|x| **x).sum::<i64>(),
        gather("parts", &parts),
    );
    assert_eq!(*total.compute().unwrap(), 1055);
}
