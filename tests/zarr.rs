//! Zarr in and out: stores written by zarr-python (`tests/fixtures/zarr/`, made by
//! `make_zarr_fixtures.py`) read value by value against the `.npy` files written with them;
//! stores written by chunkwise read back by chunkwise and, where `CHUNKWISE_ZARR_PYTHON`
//! names a Python with zarr (`.ci/run` sets it up), by zarr-python; typed errors.

use chunkwise::zarr::{BloscCompressor, Codec, ZarrFormat, ZarrWrite};
use chunkwise::{npy, s, Array, DType, DynArray, Error, SliceArg, StoreErrorKind};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/zarr")
}

fn manifest() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("manifest.json")).unwrap();
    serde_json::from_str::<Vec<Value>>(&text).unwrap()
}

/// A fresh directory for one test's outputs.
fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("zarr-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Equal values (NaN equal to NaN), equal dtype and shape.
fn assert_same(got: &DynArray, want: &DynArray, what: &str) {
    assert_eq!(got.dtype(), want.dtype(), "{what}: dtype");
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    if got != want {
        let (g, w) = (got.cast(DType::F64), want.cast(DType::F64));
        let (g, w) = (g.as_typed::<f64>().unwrap(), w.as_typed::<f64>().unwrap());
        for (i, (a, b)) in g.iter().zip(w.iter()).enumerate() {
            assert!(
                a == b || (a.is_nan() && b.is_nan()),
                "{what}: element {i}: {a} vs {b}"
            );
        }
    }
}

fn stepped(start: Option<i64>, stop: Option<i64>, step: i64) -> SliceArg {
    SliceArg::Range {
        start,
        stop,
        step: Some(step),
    }
}

fn store_kind(e: &Error) -> StoreErrorKind {
    e.store_error()
        .unwrap_or_else(|| panic!("not a store error: {e}"))
        .kind
}

#[test]
fn zarr_python_fixtures_read_value_by_value() {
    let mut read = 0;
    for entry in manifest() {
        if entry["expect"] != "ok" {
            continue;
        }
        let store = fixtures().join(entry["store"].as_str().unwrap());
        let want = npy::read_npy(fixtures().join(entry["npy"].as_str().unwrap())).unwrap();
        let what = store.display().to_string();
        let x = Array::from_zarr(&store).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_same(&x.compute_dyn().unwrap(), &want, &what);
        // Other compute chunks than the store's: each task reads its region.
        let odd: Vec<u64> = x.shape().iter().map(|&n| (n / 2).max(1)).collect();
        let y = Array::from_zarr_chunks(&store, &odd).unwrap();
        assert_same(
            &y.compute_dyn().unwrap(),
            &want,
            &format!("{what} chunks {odd:?}"),
        );
        read += 1;
    }
    assert!(read >= 60, "only {read} stores read");
}

#[test]
fn fixture_errors_are_typed_and_name_store_and_chunk() {
    let mut seen = 0;
    for entry in manifest() {
        if entry["expect"] != "error" {
            continue;
        }
        seen += 1;
        let store = fixtures().join(entry["store"].as_str().unwrap());
        let kind = entry["error_kind"].as_str().unwrap();
        if kind == "unsupported_dtype" && DType::parse(entry["dtype"].as_str().unwrap()).is_some() {
            // Written when chunkwise did not read this dtype (int16); now it does.
            let want = npy::read_npy(fixtures().join(entry["npy"].as_str().unwrap())).unwrap();
            let got = Array::from_zarr(&store).unwrap().compute_dyn().unwrap();
            assert_same(&got, &want, &store.display().to_string());
            continue;
        }
        match kind {
            "unsupported_dtype" | "unsupported_codec" => {
                let e = Array::from_zarr(&store).unwrap_err();
                let want = if kind == "unsupported_dtype" {
                    StoreErrorKind::UnsupportedDtype
                } else {
                    StoreErrorKind::UnsupportedCodec
                };
                assert_eq!(store_kind(&e), want, "{}: {e}", store.display());
                assert!(e.to_string().contains(&store.display().to_string()), "{e}");
            }
            "corrupt_chunk" => {
                let x = Array::from_zarr(&store).unwrap();
                let e = x.compute_dyn().unwrap_err();
                let se = e.store_error().unwrap_or_else(|| panic!("{e}"));
                assert_eq!(se.kind, StoreErrorKind::CorruptChunk, "{e}");
                // The chunk named is the corrupted file's: V3 `c/1/0`, V2 `1.0`.
                let bad = entry["bad_chunk"].as_str().unwrap();
                let idx: Vec<u64> = bad
                    .trim_start_matches("c/")
                    .split(['/', '.'])
                    .map(|p| p.parse().unwrap())
                    .collect();
                assert_eq!(se.chunk.as_deref(), Some(idx.as_slice()), "{e}");
                assert!(e.to_string().contains(&store.display().to_string()), "{e}");
            }
            other => panic!("unknown error kind {other}"),
        }
    }
    assert!(seen >= 4, "only {seen} error stores");
    let missing = fixtures().join("stores/no-such-store.zarr");
    assert_eq!(
        store_kind(&Array::from_zarr(&missing).unwrap_err()),
        StoreErrorKind::Missing
    );
    // A directory that is not an array.
    assert_eq!(
        store_kind(&Array::from_zarr(fixtures()).unwrap_err()),
        StoreErrorKind::Missing
    );
}

/// Every dtype, both formats, every codec, sharded and not: chunkwise reads back what it
/// wrote; zarr-python too when available.
#[test]
fn written_stores_read_back() {
    let dir = scratch("roundtrip");
    let codecs = [
        Codec::None,
        Codec::Zstd { level: 3 },
        Codec::Gzip { level: 5 },
        Codec::Blosc {
            cname: BloscCompressor::Lz4,
            clevel: 5,
        },
        Codec::Blosc {
            cname: BloscCompressor::Zstd,
            clevel: 3,
        },
    ];
    let base = Array::random_uniform(&[37, 23], &[10, 8], 5).unwrap();
    let scaled = &base * 300.0 - 100.0;
    let arrays = [
        base.gt(0.5).unwrap(),
        (&base * 255.0).astype(DType::U8).unwrap(),
        scaled.astype(DType::I32).unwrap(),
        (&scaled * 1e7).astype(DType::I64).unwrap(),
        scaled.astype(DType::F32).unwrap(),
        scaled.clone(),
        // The other integer types (values wrap into each).
        (&scaled * 1e3).astype(DType::I8).unwrap(),
        (&scaled * 1e3).astype(DType::I16).unwrap(),
        (&scaled * 1e3).astype(DType::U16).unwrap(),
        (&scaled * 1e7).astype(DType::U32).unwrap(),
        (&scaled * 1e7).astype(DType::U64).unwrap(),
        // Complex: the values times a complex scalar (imaginary parts nonzero).
        (&scaled.astype(DType::C64).unwrap() * chunkwise_ir::Complex32::new(0.5, -2.0)),
        (&scaled * chunkwise_ir::Complex64::new(-1.5, 0.25)),
    ];
    assert!(DType::ALL
        .iter()
        .all(|d| arrays.iter().any(|a| a.dtype() == *d)));
    let mut manifest = Vec::new();
    for x in &arrays {
        let want = x.compute_dyn().unwrap();
        for format in [ZarrFormat::V2, ZarrFormat::V3] {
            for codec in codecs {
                for sharded in [false, true] {
                    if sharded && format == ZarrFormat::V2 {
                        continue;
                    }
                    let name = format!("{}-{format:?}-{codec:?}-{sharded}", x.dtype())
                        .replace([' ', '{', '}', ':', ','], "");
                    let path = dir.join(format!("{name}.zarr"));
                    let opts = ZarrWrite {
                        format,
                        codec,
                        chunks: Some(vec![5, 4]),
                        shards: sharded.then(|| vec![10, 8]),
                        ..ZarrWrite::default()
                    };
                    x.to_zarr(&path, &opts)
                        .unwrap_or_else(|e| panic!("{name}: {e}"));
                    // V3 chunks end with the default `crc32c` checksum (so zarr-python
                    // reads checksummed stores below); V2 ones carry none.
                    assert_eq!(
                        chunk_codecs(&path).last().map(String::as_str) == Some("crc32c"),
                        format == ZarrFormat::V3,
                        "{name}: {:?}",
                        chunk_codecs(&path)
                    );
                    let back = Array::from_zarr(&path).unwrap().compute_dyn().unwrap();
                    assert_same(&back, &want, &name);
                    let npy_path = dir.join(format!("{name}.npy"));
                    npy::write_npy(&npy_path, &want).unwrap();
                    manifest.push(serde_json::json!({
                        "store": path, "npy": npy_path,
                        "zarr_format": if format == ZarrFormat::V2 { 2 } else { 3 },
                    }));
                }
            }
        }
    }
    assert_eq!(manifest.len(), arrays.len() * 15);
    match std::env::var("CHUNKWISE_ZARR_PYTHON") {
        Ok(python) => {
            let list = dir.join("manifest.json");
            std::fs::write(&list, serde_json::to_string(&manifest).unwrap()).unwrap();
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zarr/readback.py");
            let out = std::process::Command::new(&python)
                .arg(&script)
                .arg(&list)
                .output()
                .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
            assert!(
                out.status.success(),
                "zarr-python could not read the stores back:\n{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Err(_) => eprintln!(
            "note: CHUNKWISE_ZARR_PYTHON is not set; stores were not read back with \
             zarr-python (bash tests/zarr/setup_venv.sh makes one)"
        ),
    }
}

/// The names of the codecs each chunk goes through (inside the shards when sharded), from
/// the store's metadata.
fn chunk_codecs(store: &Path) -> Vec<String> {
    if store.join(".zarray").is_file() {
        let text = std::fs::read_to_string(store.join(".zarray")).unwrap();
        let meta: Value = serde_json::from_str(&text).unwrap();
        let mut names: Vec<String> = meta["filters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(Some(&meta["compressor"]).filter(|c| !c.is_null()))
            .map(|c| c["id"].as_str().unwrap().to_string())
            .collect();
        names.insert(0, "bytes".to_string());
        return names;
    }
    let text = std::fs::read_to_string(store.join("zarr.json")).unwrap();
    let meta: Value = serde_json::from_str(&text).unwrap();
    let mut codecs = &meta["codecs"];
    if codecs[0]["name"] == "sharding_indexed" {
        codecs = &codecs[0]["configuration"]["codecs"];
    }
    codecs
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap().to_string())
        .collect()
}

/// Flips one bit in the middle of a stored chunk file.
fn flip_a_bit(file: &Path) {
    let mut bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x10;
    std::fs::write(file, bytes).unwrap();
}

/// V3 writes checksum every chunk by default: a flipped bit in a stored chunk reads as a
/// `CorruptChunk` error naming the store and the chunk, never as wrong data; `checksum:
/// false` writes without (and the flip then goes unnoticed).
#[test]
fn checksummed_writes_turn_a_flipped_bit_into_a_chunk_error() {
    let dir = scratch("checksum");
    let x = Array::random_uniform(&[20, 12], &[5, 6], 7).unwrap();
    let want = x.compute::<f64>().unwrap();
    assert!(ZarrWrite::default().checksum);
    let cases = [
        ("zstd", Codec::Zstd { level: 3 }, None),
        ("none", Codec::None, None),
        ("sharded", Codec::Zstd { level: 3 }, Some(vec![10, 12])),
    ];
    for (name, codec, shards) in cases {
        let path = dir.join(format!("{name}.zarr"));
        let opts = ZarrWrite {
            codec,
            chunks: Some(vec![5, 6]),
            shards: shards.clone(),
            ..ZarrWrite::default()
        };
        x.rechunk(&[10, 12]).unwrap().to_zarr(&path, &opts).unwrap();
        assert_eq!(chunk_codecs(&path).last().unwrap(), "crc32c", "{name}");
        assert_eq!(
            Array::from_zarr(&path).unwrap().compute::<f64>().unwrap(),
            want
        );
        // Chunk (1, 1) (rows 5..10, columns 6..12) unsharded; sharded, shard (0, 0) (rows
        // 0..10): the store chunk named is the file's.
        let (file, chunk): (_, &[u64]) = match shards {
            None => ("c/1/1", &[1, 1]),
            Some(_) => ("c/0/0", &[0, 0]),
        };
        flip_a_bit(&path.join(file));
        let e = Array::from_zarr(&path)
            .unwrap()
            .compute::<f64>()
            .expect_err(&format!("{name}: a flipped bit read back as data"));
        let se = e.store_error().unwrap_or_else(|| panic!("{name}: {e}"));
        assert_eq!(se.kind, StoreErrorKind::CorruptChunk, "{name}: {e}");
        assert_eq!(se.chunk.as_deref(), Some(chunk), "{name}: {e}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        assert!(e.to_string().to_lowercase().contains("checksum"), "{e}");
    }
    // Without the checksum, an uncompressed chunk with a flipped bit reads as wrong data.
    let path = dir.join("unchecked.zarr");
    let opts = ZarrWrite {
        codec: Codec::None,
        checksum: false,
        ..ZarrWrite::default()
    };
    x.to_zarr(&path, &opts).unwrap();
    assert_eq!(chunk_codecs(&path), ["bytes"]);
    flip_a_bit(&path.join("c/1/1"));
    let back = Array::from_zarr(&path).unwrap().compute::<f64>().unwrap();
    assert_ne!(back, want);
    // V2 has no checksum codec zarrs reads: none is written.
    let path = dir.join("v2.zarr");
    let opts = ZarrWrite {
        format: ZarrFormat::V2,
        ..ZarrWrite::default()
    };
    x.to_zarr(&path, &opts).unwrap();
    assert_eq!(chunk_codecs(&path), ["bytes", "zstd"]);
}

#[test]
fn writes_are_refused_when_unsafe() {
    let dir = scratch("refused");
    let x = Array::random_uniform(&[20, 10], &[6, 10], 1).unwrap();
    // Compute blocks of 6 rows do not cover whole store chunks of 4.
    let opts = ZarrWrite {
        chunks: Some(vec![4, 10]),
        ..ZarrWrite::default()
    };
    let e = x.to_zarr(dir.join("a.zarr"), &opts).unwrap_err();
    assert_eq!(store_kind(&e), StoreErrorKind::Refused, "{e}");
    assert!(!dir.join("a.zarr").exists());
    // Irregular compute chunks need explicit store chunks.
    let irregular = x.rechunk_explicit(&[vec![5, 3, 12], vec![10]]).unwrap();
    let e = irregular
        .to_zarr(dir.join("b.zarr"), &ZarrWrite::default())
        .unwrap_err();
    assert_eq!(store_kind(&e), StoreErrorKind::Refused, "{e}");
    // An existing array is replaced only with `overwrite`; other directories never.
    let path = dir.join("c.zarr");
    x.to_zarr(&path, &ZarrWrite::default()).unwrap();
    let e = x.to_zarr(&path, &ZarrWrite::default()).unwrap_err();
    assert_eq!(store_kind(&e), StoreErrorKind::Refused, "{e}");
    let y = &x * 2.0;
    y.to_zarr(
        &path,
        &ZarrWrite {
            overwrite: true,
            ..ZarrWrite::default()
        },
    )
    .unwrap();
    assert_eq!(
        Array::from_zarr(&path).unwrap().compute::<f64>().unwrap(),
        y.compute::<f64>().unwrap()
    );
    let other = dir.join("not-zarr");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep me").unwrap();
    let e = x
        .to_zarr(
            &other,
            &ZarrWrite {
                overwrite: true,
                ..ZarrWrite::default()
            },
        )
        .unwrap_err();
    assert_eq!(store_kind(&e), StoreErrorKind::Refused, "{e}");
    assert!(other.join("notes.txt").exists());
}

#[test]
fn a_failed_write_leaves_no_readable_store() {
    let dir = scratch("failed");
    let corrupt = manifest()
        .into_iter()
        .find(|e| e["error_kind"] == "corrupt_chunk")
        .unwrap();
    let x = Array::from_zarr(fixtures().join(corrupt["store"].as_str().unwrap())).unwrap();
    let out = dir.join("out.zarr");
    let e = x.to_zarr(&out, &ZarrWrite::default()).unwrap_err();
    assert_eq!(store_kind(&e), StoreErrorKind::CorruptChunk, "{e}");
    assert!(Array::from_zarr(&out).is_err());
    assert!(!out.exists());
}

#[test]
fn slices_push_into_the_read_and_reads_fuse() {
    let dir = scratch("pushdown");
    let path = dir.join("x.zarr");
    let x = Array::random_uniform(&[400, 300], &[100, 100], 2).unwrap();
    x.to_zarr(&path, &ZarrWrite::default()).unwrap();
    let z = Array::from_zarr(&path).unwrap();
    // A slice reads only its region: one read layer with a window, a task per output
    // chunk (the slice keeps the 3 column chunks it crosses), 2.7 KiB read.
    let part = z
        .slice(&[s(150..160), stepped(Some(5), Some(250), 7)])
        .unwrap();
    let report = part.explain().unwrap();
    let stats = report.last();
    assert_eq!((stats.layers, stats.tasks), (1, 3), "{}", report.table());
    assert_eq!(stats.bytes_read, 10 * 35 * 8, "{}", report.table());
    let want = x
        .slice(&[s(150..160), stepped(Some(5), Some(250), 7)])
        .unwrap();
    assert_eq!(
        part.compute::<f64>().unwrap(),
        want.compute::<f64>().unwrap()
    );
    let one = z.slice(&[s(399), stepped(None, None, -3)]).unwrap();
    let want = x.slice(&[s(399), stepped(None, None, -3)]).unwrap();
    assert_eq!(
        one.compute::<f64>().unwrap(),
        want.compute::<f64>().unwrap()
    );
    // The read runs inside the task of the work after it.
    let y = (&z * 2.0).exp().sum(Some(&[0]), false).unwrap();
    assert_eq!(y.optimize().unwrap().num_layers().unwrap(), 1);
    let want = (&x * 2.0).exp().sum(Some(&[0]), false).unwrap();
    let (a, b) = (y.compute::<f64>().unwrap(), want.compute::<f64>().unwrap());
    for (p, q) in a.iter().zip(b.iter()) {
        assert!((p - q).abs() <= 1e-12 * p.abs(), "{p} vs {q}");
    }
}

#[test]
fn rechunk_plans_go_through_an_intermediate_store_when_direct_reads_multiply() {
    use chunkwise::zarr::plan_rechunk;
    // Row chunks to column chunks: every target block overlaps every source chunk.
    let p = plan_rechunk(&[65536, 4096], 8, &[512, 4096], &[65536, 32], 64 << 20, 1).unwrap();
    assert_eq!(p.direct_reads, 128 * 128);
    assert_eq!(p.stages.len(), 2);
    assert_eq!(p.stages[0].read, vec![512, 4096]);
    assert_eq!(p.stages[0].write, vec![512, 32]);
    // More memory: stage 1 reads 4 source chunks per task (3 x 64 MiB for each of 2
    // workers within 512 MiB), so the intermediate chunks are 4 times larger.
    let p = plan_rechunk(&[65536, 4096], 8, &[512, 4096], &[65536, 32], 512 << 20, 2).unwrap();
    assert_eq!(p.stages[0].read, vec![2048, 4096]);
    assert_eq!(p.stages[0].write, vec![2048, 32]);
    assert_eq!(p.stages[1].read, vec![65536, 32]);
    assert_eq!(p.stages[1].read, vec![65536, 32]);
    assert_eq!(p.stages[1].write, vec![65536, 32]);
    // Chunks that merge whole source chunks are read directly.
    let p = plan_rechunk(&[1000, 100], 8, &[10, 100], &[100, 100], 1 << 20, 1).unwrap();
    assert_eq!(p.stages.len(), 1);
    // Chunks that do not divide each other meet at their greatest common divisor (axis
    // 1); along axis 0 stage 1 reads 8 source chunks (48 rows, 6000 % 96 != 0).
    let p = plan_rechunk(&[6000, 6000], 1, &[6, 6000], &[6000, 9], 1 << 30, 1).unwrap();
    assert_eq!(p.stages[0].read, vec![48, 6000]);
    assert_eq!(p.stages[0].write, vec![48, 3]);
    // A stage whose task cannot fit is refused, with the numbers.
    let e = plan_rechunk(&[65536, 4096], 8, &[512, 4096], &[65536, 32], 8 << 20, 1).unwrap_err();
    assert!(matches!(e, Error::MemoryLimit { .. }), "{e}");
    assert!(e.to_string().contains("rechunk stage 1"), "{e}");
}

#[test]
fn rechunk_zarr_moves_rows_to_columns_under_a_limit() {
    let dir = scratch("rechunk");
    let (src, dst) = (dir.join("rows.zarr"), dir.join("cols.zarr"));
    let x = Array::random_uniform(&[512, 96], &[8, 96], 3).unwrap();
    x.to_zarr(&src, &ZarrWrite::default()).unwrap();
    let run = chunkwise::ComputeOptions {
        memory_limit: Some(1 << 20),
        ..Default::default()
    };
    let plan =
        chunkwise::zarr::rechunk_zarr(&src, &dst, &[512, 4], &ZarrWrite::default(), &run).unwrap();
    assert_eq!(plan.stages.len(), 2);
    assert_eq!(
        chunkwise::zarr::open(&dst).unwrap().store_chunks,
        vec![512, 4]
    );
    assert!(!dst.with_extension("rechunk-tmp").exists());
    let back = Array::from_zarr(&dst).unwrap();
    assert_eq!(back.compute::<f64>().unwrap(), x.compute::<f64>().unwrap());
}

/// A graph file that reads a Zarr array, run by the CLI into a Zarr array and a `.npy`
/// file, under a memory limit; a missing store named in a graph file is an error naming it.
#[test]
fn cli_runs_graph_files_that_read_and_write_zarr() {
    let dir = scratch("cli");
    let src = dir.join("in.zarr");
    let x = Array::random_uniform(&[300, 40], &[100, 40], 4).unwrap();
    x.to_zarr(&src, &ZarrWrite::default()).unwrap();
    let z = Array::from_zarr(&src).unwrap();
    let doubled = &z * 2.0;
    let sums = z.sum(Some(&[0]), false).unwrap();
    let graph = dir.join("g.json");
    let nodes = [
        doubled.node().unwrap().clone(),
        sums.node().unwrap().clone(),
    ];
    std::fs::write(&graph, chunkwise_ir::serial::to_json(&nodes)).unwrap();
    let (out_zarr, out_npy) = (dir.join("doubled.zarr"), dir.join("sums.npy"));
    let cli = |args: &[&std::ffi::OsStr]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_chunkwise"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = cli(&[
        "run".as_ref(),
        graph.as_os_str(),
        "--out".as_ref(),
        out_zarr.as_os_str(),
        "--out".as_ref(),
        out_npy.as_os_str(),
        "--memory-limit".as_ref(),
        "64M".as_ref(),
        "--quiet".as_ref(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let back = Array::from_zarr(&out_zarr)
        .unwrap()
        .compute::<f64>()
        .unwrap();
    assert_eq!(back, (&x * 2.0).compute::<f64>().unwrap());
    let s = npy::read_npy(&out_npy).unwrap();
    assert_same(
        &s,
        &x.sum(Some(&[0]), false).unwrap().compute_dyn().unwrap(),
        "sums",
    );
    // A limit below one block (100 x 40 f64 = 32 kB) is refused before anything runs.
    let out = cli(&[
        "run".as_ref(),
        graph.as_os_str(),
        "--out".as_ref(),
        dir.join("x.npy").as_os_str(),
        "--out".as_ref(),
        dir.join("y.npy").as_os_str(),
        "--memory-limit".as_ref(),
        "10K".as_ref(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("memory limit"),
        "{err}"
    );
    // The store named in the graph file is gone.
    std::fs::remove_dir_all(&src).unwrap();
    let out = cli(&["dump".as_ref(), graph.as_os_str()]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("in.zarr"), "{err}");
}
