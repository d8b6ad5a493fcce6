//! `OnFailure::KeepGoing`: failures fail only their dependents; everything else runs.

use chunkwise_runtime::{execute, Dag, OnFailure, RunError, RunOptions};
use std::collections::HashSet;

/// A random DAG: task t depends on up to 3 earlier tasks.
fn random_dag(n: u32, seed: u64) -> (Vec<u32>, Vec<u32>) {
    let mut s = seed;
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 33) as u32
    };
    let (mut offsets, mut deps) = (vec![0u32], Vec::new());
    for t in 0..n {
        if t > 0 {
            let k = next() % 4;
            let mut picked = HashSet::new();
            for _ in 0..k {
                picked.insert(next() % t);
            }
            deps.extend(picked);
        }
        offsets.push(deps.len() as u32);
    }
    (offsets, deps)
}

fn ancestors(t: u32, offsets: &[u32], deps: &[u32]) -> HashSet<u32> {
    let mut seen = HashSet::new();
    let mut stack = vec![t];
    while let Some(q) = stack.pop() {
        if seen.insert(q) {
            stack.extend(&deps[offsets[q as usize] as usize..offsets[q as usize + 1] as usize]);
        }
    }
    seen
}

#[test]
fn failures_fail_only_their_dependents() {
    for seed in 0..40u64 {
        let n = 300;
        let (offsets, deps) = random_dag(n, seed);
        let dag = Dag {
            offsets: &offsets,
            deps: &deps,
        };
        let bad: HashSet<u32> = (0..n)
            .filter(|t| (t * 7 + seed as u32).is_multiple_of(23))
            .collect();
        // A task's value: 1 + the sum of its inputs (mod 2^32); failing tasks fail.
        let run = |t: u32, inputs: &[u32]| -> Result<u32, String> {
            if bad.contains(&t) {
                if t.is_multiple_of(2) {
                    return Err(format!("task {t} failed"));
                }
                panic!("task {t} panicked");
            }
            Ok(inputs.iter().fold(1u32, |a, b| a.wrapping_add(*b)))
        };
        let outputs: Vec<u32> = (0..n).collect();
        for threads in [1, 4] {
            let opts = RunOptions {
                threads,
                on_failure: OnFailure::KeepGoing,
                ..RunOptions::default()
            };
            let out = execute(dag, &outputs, run, &opts).unwrap().into_each();
            let mut want = vec![0u32; n as usize];
            for t in 0..n {
                let anc = ancestors(t, &offsets, &deps);
                let failing: Vec<u32> = anc.iter().copied().filter(|a| bad.contains(a)).collect();
                match &out[t as usize] {
                    Ok(v) => {
                        assert!(failing.is_empty(), "seed {seed} task {t} should fail");
                        let ins =
                            &deps[offsets[t as usize] as usize..offsets[t as usize + 1] as usize];
                        want[t as usize] = ins
                            .iter()
                            .fold(1u32, |a, &b| a.wrapping_add(want[b as usize]));
                        assert_eq!(*v, want[t as usize]);
                    }
                    Err(RunError::Task { task, .. }) | Err(RunError::Panicked { task, .. }) => {
                        assert!(
                            failing.contains(task),
                            "seed {seed} task {t}: {task} is not a failing ancestor"
                        );
                    }
                    Err(e) => panic!("unexpected {e:?}"),
                }
            }
        }
    }
}
