//! Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
//!
//! Supported element types are the chunkwise dtypes: `bool` (`|b1`), `int8` (`|i1`),
//! `uint8` (`|u1`), `int16` (`<i2`), `uint16` (`<u2`), `int32` (`<i4`), `uint32` (`<u4`),
//! `int64` (`<i8`), `uint64` (`<u8`), `float32` (`<f4`) and `float64` (`<f8`). Reading also
//! accepts big-endian (`>`) and native (`=`) variants and Fortran-order files; the result
//! is always a C-order (standard layout) array. Writing produces version 1.0 files (2.0 when
//! the header does not fit in 64 KiB), little-endian, C order, with the header padded to a
//! multiple of 64 bytes as NumPy does.
//!
//! Malformed input never panics: it is reported as [`NpyError::Format`], naming the file.

use chunkwise_ir::{DType, DynArray, Element};
use ndarray::{ArcArray, ArrayD, IxDyn, ShapeBuilder};
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// An error reading or writing a `.npy` file. Every variant names the file (or the name
/// given to [`read_npy_bytes`]) and the problem.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    /// The file could not be opened, read, written or renamed.
    #[error("cannot read/write {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },
    /// The bytes are not a well-formed `.npy` file (bad magic, malformed header, truncated
    /// data, ...).
    #[error("{path} is not a valid .npy file: {reason}")]
    Format {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
    /// The file is a well-formed `.npy` file whose element type chunkwise does not support.
    #[error("{path}: unsupported dtype {descr:?} (chunkwise reads bool, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64, complex64, complex128)")]
    UnsupportedDType {
        /// The file.
        path: String,
        /// The dtype description from the header, as written there.
        descr: String,
    },
}

const MAGIC: &[u8; 6] = b"\x93NUMPY";
/// Header alignment used by NumPy: magic + version + length + dict is a multiple of this.
const ALIGN: usize = 64;
/// Bytes converted per step when streaming data to or from a file.
const IO_CHUNK: usize = 1 << 20;
/// Deepest nesting of tuples/lists/dicts accepted in a header.
const MAX_DEPTH: usize = 32;

// ---------------------------------------------------------------------------------------
// Element conversion
// ---------------------------------------------------------------------------------------

/// Bulk conversion between elements and their `.npy` byte representation.
trait NpyElem: Element {
    /// Bytes per element.
    const SIZE: usize;
    /// Appends the elements decoded from `src` (a multiple of `SIZE` bytes) to `out`.
    fn decode(src: &[u8], big_endian: bool, out: &mut Vec<Self>);
    /// Appends the little-endian bytes of `src` to `out`.
    fn encode(src: &[Self], out: &mut Vec<u8>);
}

impl NpyElem for bool {
    const SIZE: usize = 1;
    fn decode(src: &[u8], _big_endian: bool, out: &mut Vec<Self>) {
        out.extend(src.iter().map(|&b| b != 0));
    }
    fn encode(src: &[Self], out: &mut Vec<u8>) {
        out.extend(src.iter().map(|&b| b as u8));
    }
}

impl NpyElem for u8 {
    const SIZE: usize = 1;
    fn decode(src: &[u8], _big_endian: bool, out: &mut Vec<Self>) {
        out.extend_from_slice(src);
    }
    fn encode(src: &[Self], out: &mut Vec<u8>) {
        out.extend_from_slice(src);
    }
}

macro_rules! npy_elem_num {
    ($($t:ty),*) => {$(
        impl NpyElem for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            fn decode(src: &[u8], big_endian: bool, out: &mut Vec<Self>) {
                const N: usize = std::mem::size_of::<$t>();
                let chunks = src.chunks_exact(N);
                if big_endian {
                    out.extend(chunks.map(|c| {
                        let mut b = [0u8; N];
                        b.copy_from_slice(c);
                        <$t>::from_be_bytes(b)
                    }));
                } else {
                    out.extend(chunks.map(|c| {
                        let mut b = [0u8; N];
                        b.copy_from_slice(c);
                        <$t>::from_le_bytes(b)
                    }));
                }
            }
            fn encode(src: &[Self], out: &mut Vec<u8>) {
                out.reserve(src.len() * Self::SIZE);
                for v in src {
                    out.extend_from_slice(&v.to_le_bytes());
                }
            }
        }
    )*};
}
npy_elem_num!(i8, i16, u16, i32, u32, i64, u64, f32, f64);

/// Complex elements are their real and imaginary parts, each stored as its float type
/// (`<c8` is two `<f4`, `<c16` two `<f8`).
macro_rules! npy_elem_complex {
    ($($c:ty: $t:ty),*) => {$(
        impl NpyElem for $c {
            const SIZE: usize = 2 * std::mem::size_of::<$t>();
            fn decode(src: &[u8], big_endian: bool, out: &mut Vec<Self>) {
                let mut parts = Vec::with_capacity(src.len() / <$t as NpyElem>::SIZE);
                <$t>::decode(src, big_endian, &mut parts);
                out.extend(parts.chunks_exact(2).map(|p| <$c>::new(p[0], p[1])));
            }
            fn encode(src: &[Self], out: &mut Vec<u8>) {
                out.reserve(src.len() * Self::SIZE);
                for v in src {
                    out.extend_from_slice(&v.re.to_le_bytes());
                    out.extend_from_slice(&v.im.to_le_bytes());
                }
            }
        }
    )*};
}
npy_elem_complex!(chunkwise_ir::Complex32: f32, chunkwise_ir::Complex64: f64);

// ---------------------------------------------------------------------------------------
// Header parsing
// ---------------------------------------------------------------------------------------

/// The parsed header of a `.npy` file.
#[derive(Debug)]
struct Header {
    dtype: DType,
    big_endian: bool,
    fortran_order: bool,
    shape: Vec<usize>,
}

impl Header {
    /// Number of elements, or `None` on overflow.
    fn count(&self) -> Option<usize> {
        self.shape
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
    }
}

/// A Python literal value from the header dict.
#[derive(Debug)]
enum Py {
    Str(String),
    Int {
        negative: bool,
        magnitude: u128,
    },
    Bool(bool),
    None,
    /// A list or, if the flag is set, a tuple.
    Seq(Vec<Py>, bool),
    Dict(Vec<(Py, Py)>),
}

/// A tiny parser for the Python literal forms that appear in `.npy` headers.
struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
    /// Whether the header is UTF-8 (version 3.0); otherwise Latin-1.
    utf8: bool,
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while let Some(&c) = self.s.get(self.pos) {
            if c == b' ' || c == b'\t' || c == b'\n' || c == b'\r' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_ws();
        self.s.get(self.pos).copied()
    }

    fn expect(&mut self, c: u8) -> Result<(), String> {
        match self.peek() {
            Some(x) if x == c => {
                self.pos += 1;
                Ok(())
            }
            Some(x) => Err(format!(
                "header: expected '{}' at byte {}, found '{}'",
                c as char,
                self.pos,
                (x as char).escape_default()
            )),
            None => Err(format!(
                "header: expected '{}', found end of header",
                c as char
            )),
        }
    }

    fn text(&self, bytes: &[u8]) -> String {
        if self.utf8 {
            String::from_utf8_lossy(bytes).into_owned()
        } else {
            bytes.iter().map(|&b| b as char).collect()
        }
    }

    fn value(&mut self, depth: usize) -> Result<Py, String> {
        if depth > MAX_DEPTH {
            return Err("header: literal nested too deeply".into());
        }
        match self.peek() {
            None => Err("header: expected a value, found end of header".into()),
            Some(q @ (b'\'' | b'"')) => self.string(q),
            Some(b'(') => self.seq(b')', depth),
            Some(b'[') => self.seq(b']', depth),
            Some(b'{') => self.dict(depth),
            Some(c) if c == b'-' || c == b'+' || c.is_ascii_digit() => self.int(),
            Some(c) if c.is_ascii_alphabetic() || c == b'_' => {
                let start = self.pos;
                while self
                    .s
                    .get(self.pos)
                    .is_some_and(|c| c.is_ascii_alphanumeric() || *c == b'_')
                {
                    self.pos += 1;
                }
                match &self.s[start..self.pos] {
                    b"True" => Ok(Py::Bool(true)),
                    b"False" => Ok(Py::Bool(false)),
                    b"None" => Ok(Py::None),
                    w => Err(format!("header: unexpected name {:?}", self.text(w))),
                }
            }
            Some(c) => Err(format!(
                "header: unexpected character '{}' at byte {}",
                (c as char).escape_default(),
                self.pos
            )),
        }
    }

    fn string(&mut self, quote: u8) -> Result<Py, String> {
        self.pos += 1; // opening quote
        let mut out = Vec::new();
        loop {
            match self.s.get(self.pos) {
                None => return Err("header: unterminated string".into()),
                Some(&c) if c == quote => {
                    self.pos += 1;
                    return Ok(Py::Str(self.text(&out)));
                }
                Some(b'\\') => {
                    match self.s.get(self.pos + 1) {
                        None => return Err("header: unterminated string".into()),
                        Some(&e @ (b'\\' | b'\'' | b'"')) => out.push(e),
                        Some(b'n') => out.push(b'\n'),
                        Some(b't') => out.push(b'\t'),
                        Some(&e) => out.extend_from_slice(&[b'\\', e]),
                    }
                    self.pos += 2;
                }
                Some(&c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn int(&mut self) -> Result<Py, String> {
        let mut negative = false;
        if let Some(&s @ (b'-' | b'+')) = self.s.get(self.pos) {
            negative = s == b'-';
            self.pos += 1;
        }
        let start = self.pos;
        let mut magnitude: u128 = 0;
        while let Some(&c) = self.s.get(self.pos) {
            if c.is_ascii_digit() {
                magnitude = magnitude
                    .checked_mul(10)
                    .and_then(|m| m.checked_add(u128::from(c - b'0')))
                    .ok_or("header: integer too large")?;
                self.pos += 1;
            } else if c == b'_' && self.pos > start {
                self.pos += 1; // Python allows 1_000
            } else {
                break;
            }
        }
        if self.pos == start {
            return Err(format!("header: expected digits at byte {}", self.pos));
        }
        // Python 2 long suffix, as written by very old NumPy.
        if let Some(b'L' | b'l') = self.s.get(self.pos) {
            self.pos += 1;
        }
        Ok(Py::Int {
            negative,
            magnitude,
        })
    }

    fn seq(&mut self, close: u8, depth: usize) -> Result<Py, String> {
        self.pos += 1; // opening bracket
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(close) {
                self.pos += 1;
                return Ok(Py::Seq(items, close == b')'));
            }
            items.push(self.value(depth + 1)?);
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(c) if c == close => {}
                _ => {
                    return Err(format!(
                        "header: expected ',' or '{}' at byte {}",
                        close as char, self.pos
                    ))
                }
            }
        }
    }

    fn dict(&mut self, depth: usize) -> Result<Py, String> {
        self.pos += 1; // '{'
        let mut items = Vec::new();
        loop {
            if self.peek() == Some(b'}') {
                self.pos += 1;
                return Ok(Py::Dict(items));
            }
            let key = self.value(depth + 1)?;
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            items.push((key, value));
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {}
                _ => return Err(format!("header: expected ',' or '}}' at byte {}", self.pos)),
            }
        }
    }
}

/// Renders a literal back to Python-like text (for error messages about `descr`).
fn py_repr(v: &Py) -> String {
    match v {
        Py::Str(s) => format!("'{s}'"),
        Py::Int {
            negative,
            magnitude,
        } => format!("{}{magnitude}", if *negative { "-" } else { "" }),
        Py::Bool(b) => (if *b { "True" } else { "False" }).into(),
        Py::None => "None".into(),
        Py::Seq(items, tuple) => {
            let parts: Vec<String> = items.iter().map(py_repr).collect();
            match (tuple, parts.len()) {
                (true, 1) => format!("({},)", parts[0]),
                (true, _) => format!("({})", parts.join(", ")),
                (false, _) => format!("[{}]", parts.join(", ")),
            }
        }
        Py::Dict(items) => {
            let parts: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}: {}", py_repr(k), py_repr(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

/// Why a header could not be used.
enum HeaderError {
    Format(String),
    Unsupported(String),
}

/// Maps a `descr` string to a dtype and byte order.
fn parse_descr(descr: &str) -> Option<(DType, bool)> {
    let (order, code) = match descr.as_bytes().first() {
        Some(b'<' | b'>' | b'=' | b'|') => (descr.as_bytes()[0], &descr[1..]),
        _ => (b'|', descr),
    };
    let code = if code == "?" { "b1" } else { code };
    let dtype = DType::ALL
        .into_iter()
        .find(|d| &d.numpy_str()[1..] == code)?;
    let big_endian = match order {
        b'>' => true,
        b'<' => false,
        b'=' => cfg!(target_endian = "big"),
        // '|' (byte order not applicable) or no prefix: only meaningful for 1-byte types.
        _ if dtype.size() == 1 => false,
        _ => return None,
    };
    Some((dtype, big_endian))
}

fn parse_header(text: &[u8], utf8: bool) -> Result<Header, HeaderError> {
    use HeaderError::{Format as F, Unsupported};
    let mut p = Parser {
        s: text,
        pos: 0,
        utf8,
    };
    let dict = p.value(0).map_err(F)?;
    p.skip_ws();
    if p.pos != text.len() {
        return Err(F(format!(
            "header: unexpected text after the dict at byte {}",
            p.pos
        )));
    }
    let Py::Dict(items) = dict else {
        return Err(F("header is not a dict".into()));
    };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    for (k, v) in items {
        let Py::Str(k) = k else {
            return Err(F(format!("header: non-string key {}", py_repr(&k))));
        };
        let slot = match k.as_str() {
            "descr" => &mut descr,
            "fortran_order" => &mut fortran,
            "shape" => &mut shape,
            _ => return Err(F(format!("header: unexpected key '{k}'"))),
        };
        if slot.replace(v).is_some() {
            return Err(F(format!("header: duplicate key '{k}'")));
        }
    }
    let missing = |k: &str| F(format!("header: missing key '{k}'"));
    let descr = descr.ok_or_else(|| missing("descr"))?;
    let fortran = fortran.ok_or_else(|| missing("fortran_order"))?;
    let shape = shape.ok_or_else(|| missing("shape"))?;

    let fortran_order = match fortran {
        Py::Bool(b) => b,
        other => {
            return Err(F(format!(
                "header: fortran_order is {}, not True or False",
                py_repr(&other)
            )))
        }
    };
    let Py::Seq(dims, _) = shape else {
        return Err(F(format!(
            "header: shape is {}, not a tuple",
            py_repr(&shape)
        )));
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Py::Int {
                negative: false,
                magnitude,
            } => usize::try_from(*magnitude)
                .map_err(|_| F(format!("header: shape dimension {magnitude} is too large"))),
            Py::Int { magnitude: 0, .. } => Ok(0),
            other => Err(F(format!(
                "header: shape dimension {} is not a non-negative integer",
                py_repr(other)
            ))),
        })
        .collect::<Result<Vec<usize>, _>>()?;
    let (dtype, big_endian) = match &descr {
        Py::Str(s) => parse_descr(s).ok_or_else(|| Unsupported(s.clone()))?,
        // Structured dtypes are lists of fields.
        other => return Err(Unsupported(py_repr(other))),
    };
    Ok(Header {
        dtype,
        big_endian,
        fortran_order,
        shape,
    })
}

/// The fixed-size start of a file: returns the number of bytes of the header-length field
/// (2 or 4) and whether the header is UTF-8, after checking the magic string and version.
fn parse_preamble(first8: &[u8]) -> Result<(usize, bool), String> {
    if first8.len() < 8 || &first8[..6] != MAGIC {
        return Err("missing the \\x93NUMPY magic string".into());
    }
    match (first8[6], first8[7]) {
        (1, 0) => Ok((2, false)),
        (2, 0) => Ok((4, false)),
        (3, 0) => Ok((4, true)),
        (major, minor) => Err(format!("unsupported format version {major}.{minor}")),
    }
}

fn header_len(field: &[u8]) -> usize {
    field
        .iter()
        .rev()
        .fold(0usize, |acc, &b| (acc << 8) | usize::from(b))
}

fn format_err(name: &str, reason: impl Into<String>) -> NpyError {
    NpyError::Format {
        path: name.to_string(),
        reason: reason.into(),
    }
}

fn header_err(name: &str, e: HeaderError) -> NpyError {
    match e {
        HeaderError::Format(reason) => format_err(name, reason),
        HeaderError::Unsupported(descr) => NpyError::UnsupportedDType {
            path: name.to_string(),
            descr,
        },
    }
}

/// The expected number of data bytes for `h`, or a format error on overflow.
fn data_len(h: &Header, name: &str) -> Result<usize, NpyError> {
    h.count()
        .and_then(|n| n.checked_mul(h.dtype.size()))
        .filter(|&n| n <= isize::MAX as usize)
        .ok_or_else(|| {
            format_err(
                name,
                format!("shape {:?} is too large (element count overflows)", h.shape),
            )
        })
}

fn length_err(name: &str, expected: u64, actual: u64, h: &Header) -> NpyError {
    format_err(
        name,
        format!(
            "data is {actual} bytes but shape {:?} of {} needs {expected} bytes{}",
            h.shape,
            h.dtype.numpy_str(),
            if actual < expected {
                " (truncated file?)"
            } else {
                ""
            }
        ),
    )
}

/// Builds the array from C-order (or Fortran-order) elements.
fn build<T: NpyElem>(h: &Header, data: Vec<T>, name: &str) -> Result<DynArray, NpyError> {
    let shape_err = |e: ndarray::ShapeError| format_err(name, format!("shape {:?}: {e}", h.shape));
    let a = if h.fortran_order {
        let f = ArrayD::from_shape_vec(IxDyn(&h.shape).f(), data).map_err(shape_err)?;
        if f.ndim() <= 1 || f.is_standard_layout() {
            f
        } else {
            f.as_standard_layout().into_owned()
        }
    } else {
        ArrayD::from_shape_vec(IxDyn(&h.shape), data).map_err(shape_err)?
    };
    Ok(DynArray::new(a))
}

fn decode_all<T: NpyElem>(h: &Header, bytes: &[u8], name: &str) -> Result<DynArray, NpyError> {
    let mut data = Vec::with_capacity(bytes.len() / T::SIZE);
    T::decode(bytes, h.big_endian, &mut data);
    build(h, data, name)
}

/// Reads a `.npy` file held in memory. `name` identifies it in error messages.
///
/// See [`read_npy`] for what is accepted.
pub fn read_npy_bytes(bytes: &[u8], name: &str) -> Result<DynArray, NpyError> {
    let (len_bytes, utf8) = parse_preamble(bytes).map_err(|r| format_err(name, r))?;
    let len_field = bytes
        .get(8..8 + len_bytes)
        .ok_or_else(|| format_err(name, "truncated before the header length"))?;
    let hlen = header_len(len_field);
    let start = 8 + len_bytes;
    let text = start
        .checked_add(hlen)
        .and_then(|end| bytes.get(start..end))
        .ok_or_else(|| {
            format_err(
                name,
                format!(
                    "header of {hlen} bytes is truncated (file has {} bytes)",
                    bytes.len()
                ),
            )
        })?;
    let h = parse_header(text, utf8).map_err(|e| header_err(name, e))?;
    let expected = data_len(&h, name)?;
    let data = &bytes[start + hlen..];
    if data.len() != expected {
        return Err(length_err(name, expected as u64, data.len() as u64, &h));
    }
    chunkwise_ir::with_dtype!(h.dtype, T => decode_all::<T>(&h, data, name))
}

/// Reads exactly `buf.len()` bytes, turning a short read into a format error.
fn read_exact_or(
    f: &mut impl Read,
    buf: &mut [u8],
    name: &str,
    what: &str,
) -> Result<(), NpyError> {
    f.read_exact(buf).map_err(|e| {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            format_err(name, format!("truncated {what}"))
        } else {
            NpyError::Io {
                path: name.to_string(),
                source: e,
            }
        }
    })
}

fn stream_decode<T: NpyElem>(
    h: &Header,
    f: &mut impl Read,
    expected: usize,
    name: &str,
) -> Result<DynArray, NpyError> {
    let mut data: Vec<T> = Vec::with_capacity(expected / T::SIZE);
    let mut buf = vec![0u8; IO_CHUNK.min(expected)];
    let mut remaining = expected;
    while remaining > 0 {
        let n = remaining.min(buf.len());
        read_exact_or(f, &mut buf[..n], name, "data")?;
        T::decode(&buf[..n], h.big_endian, &mut data);
        remaining -= n;
    }
    build(h, data, name)
}

/// Reads a `.npy` file (format version 1.0, 2.0 or 3.0).
///
/// Accepts the dtypes `|b1` (bool, any nonzero byte is `true`), `|i1`, `|u1`, `i2`, `u2`,
/// `i4`, `u4`, `i8`, `u8`, `f4` and `f8` in little-endian (`<`), big-endian (`>`) or native
/// (`=`) byte order, and C or Fortran order; the result is always in standard (C) layout.
/// Other dtypes give [`NpyError::UnsupportedDType`]; malformed or truncated files give
/// [`NpyError::Format`]. The data is read in bulk, streaming from the file into the final
/// buffer.
///
/// ```
/// use chunkwise::npy::{read_npy, write_npy};
/// use chunkwise_ir::DynArray;
/// use ndarray::ArrayD;
///
/// let path = std::env::temp_dir().join(format!("chunkwise_doc_read_{}.npy", std::process::id()));
/// let a = DynArray::new(ArrayD::from_shape_vec(vec![2, 3], vec![1.0f64, 2., 3., 4., 5., 6.]).unwrap());
/// write_npy(&path, &a).unwrap();
/// let b = read_npy(&path).unwrap();
/// assert_eq!(a, b);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn read_npy(path: impl AsRef<Path>) -> Result<DynArray, NpyError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let io_err = |source| NpyError::Io {
        path: name.clone(),
        source,
    };
    let mut f = File::open(path).map_err(io_err)?;
    let meta = f.metadata().map_err(io_err)?;
    let file_len = meta.is_file().then_some(meta.len());

    let mut pre = [0u8; 12];
    let mut got = 0;
    // Read the magic and version (short files are reported as not-npy rather than EOF).
    while got < 8 {
        match f.read(&mut pre[got..8]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(e)),
        }
    }
    let (len_bytes, utf8) = parse_preamble(&pre[..got]).map_err(|r| format_err(&name, r))?;
    read_exact_or(&mut f, &mut pre[8..8 + len_bytes], &name, "header length")?;
    let hlen = header_len(&pre[8..8 + len_bytes]);
    let start = (8 + len_bytes) as u64;
    if let Some(file_len) = file_len {
        if start + hlen as u64 > file_len {
            return Err(format_err(
                &name,
                format!("header of {hlen} bytes is truncated (file has {file_len} bytes)"),
            ));
        }
    }
    let mut text = Vec::new();
    (&mut f)
        .take(hlen as u64)
        .read_to_end(&mut text)
        .map_err(io_err)?;
    if text.len() != hlen {
        return Err(format_err(&name, "truncated header"));
    }
    let h = parse_header(&text, utf8).map_err(|e| header_err(&name, e))?;
    let expected = data_len(&h, &name)?;
    let data_start = start + hlen as u64;
    match file_len {
        Some(file_len) => {
            let actual = file_len - data_start;
            if actual != expected as u64 {
                return Err(length_err(&name, expected as u64, actual, &h));
            }
            let mut r = f;
            chunkwise_ir::with_dtype!(h.dtype, T => stream_decode::<T>(&h, &mut r, expected, &name))
        }
        None => {
            // Not a regular file (a pipe, ...): read everything, bounded by the expected size.
            let mut data = Vec::new();
            (&mut f)
                .take(expected as u64 + 1)
                .read_to_end(&mut data)
                .map_err(io_err)?;
            if data.len() != expected {
                return Err(length_err(&name, expected as u64, data.len() as u64, &h));
            }
            chunkwise_ir::with_dtype!(h.dtype, T => decode_all::<T>(&h, &data, &name))
        }
    }
}

// ---------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------

/// The preamble and padded header for an array of `dtype` and `shape`.
fn header_bytes(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [] => "()".to_string(),
        [d] => format!("({d},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    };
    let dict = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {dims}, }}",
        dtype.numpy_str()
    );
    let padded_len = |prefix: usize| {
        let unpadded = prefix + dict.len() + 1; // + '\n'
        unpadded.div_ceil(ALIGN) * ALIGN - prefix
    };
    let (version, len_bytes) = if padded_len(10) <= u16::MAX as usize {
        (1u8, 2)
    } else {
        (2u8, 4)
    };
    let hlen = padded_len(8 + len_bytes);
    let mut out = Vec::with_capacity(8 + len_bytes + hlen);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[version, 0]);
    if len_bytes == 2 {
        out.extend_from_slice(&(hlen as u16).to_le_bytes());
    } else {
        out.extend_from_slice(&(hlen as u32).to_le_bytes());
    }
    out.extend_from_slice(dict.as_bytes());
    out.resize(8 + len_bytes + hlen - 1, b' ');
    out.push(b'\n');
    out
}

/// Passes the little-endian C-order bytes of `a` to `sink`, at most about
/// [`IO_CHUNK`] bytes at a time.
fn encode_chunks<T: NpyElem>(
    a: &ArcArray<T, IxDyn>,
    mut sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let per_chunk = (IO_CHUNK / T::SIZE).max(1);
    let mut buf = Vec::with_capacity(per_chunk.min(a.len()) * T::SIZE);
    if let Some(s) = a.as_slice() {
        for c in s.chunks(per_chunk) {
            buf.clear();
            T::encode(c, &mut buf);
            sink(&buf)?;
        }
    } else {
        // Not in standard layout (e.g. a transposed view): gather in logical order.
        let mut tmp: Vec<T> = Vec::with_capacity(per_chunk.min(a.len()));
        for &v in a.iter() {
            tmp.push(v);
            if tmp.len() == per_chunk {
                buf.clear();
                T::encode(&tmp, &mut buf);
                sink(&buf)?;
                tmp.clear();
            }
        }
        if !tmp.is_empty() {
            buf.clear();
            T::encode(&tmp, &mut buf);
            sink(&buf)?;
        }
    }
    Ok(())
}

/// Encodes an array as the bytes of a `.npy` file (version 1.0, or 2.0 for headers over
/// 64 KiB; little-endian; C order regardless of the array's memory layout).
pub fn write_npy_bytes(a: &DynArray) -> Vec<u8> {
    let mut out = header_bytes(a.dtype(), a.shape());
    out.reserve(a.nbytes());
    chunkwise_ir::with_array!(a, x => {
        if let Some(s) = x.as_slice() {
            NpyElem::encode(s, &mut out);
        } else {
            let _ = encode_chunks(x, |b| {
                out.extend_from_slice(b);
                Ok(())
            });
        }
    });
    out
}

static TMP_COUNTER: AtomicU64 = AtomicU64::new(0);

/// The name of a temporary file for writing `file_name`: `.<name>.chunkwise-tmp-<pid>-<n>`.
fn temp_name(file_name: &std::ffi::OsStr) -> std::ffi::OsString {
    let mut tmp_name = std::ffi::OsString::from(".");
    tmp_name.push(file_name);
    tmp_name.push(format!(
        ".chunkwise-tmp-{}-{}",
        std::process::id(),
        TMP_COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    tmp_name
}

/// Writes an array to a `.npy` file (version 1.0, or 2.0 for headers over 64 KiB;
/// little-endian; C order regardless of the array's memory layout).
///
/// The file is written atomically: the data goes to a temporary file in the same directory
/// (`.<name>.chunkwise-tmp-<pid>-<n>`: hidden, and named as chunkwise's), which is synced
/// and then renamed over `path`, so a failure never leaves a partial file under `path`. A
/// failed write removes its temporary file; a killed process leaves it behind, and any
/// `.*.chunkwise-tmp-*` file whose process is gone can be deleted.
///
/// ```
/// use chunkwise::npy::{read_npy, write_npy};
/// use chunkwise_ir::DynArray;
/// use ndarray::ArrayD;
///
/// let path = std::env::temp_dir().join(format!("chunkwise_doc_write_{}.npy", std::process::id()));
/// let a = DynArray::new(ArrayD::from_shape_vec(vec![3], vec![1i32, -2, 3]).unwrap());
/// write_npy(&path, &a).unwrap();
/// assert_eq!(read_npy(&path).unwrap(), a);
/// # std::fs::remove_file(&path).unwrap();
/// ```
pub fn write_npy(path: impl AsRef<Path>, a: &DynArray) -> Result<(), NpyError> {
    let path = path.as_ref();
    let name = path.display().to_string();
    let file_name = path.file_name().ok_or_else(|| NpyError::Io {
        path: name.clone(),
        source: io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"),
    })?;
    let tmp = path.with_file_name(temp_name(file_name));

    let result = (|| -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(&header_bytes(a.dtype(), a.shape()))?;
        chunkwise_ir::with_array!(a, x => encode_chunks(x, |b| f.write_all(b)))?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|source| {
        let _ = std::fs::remove_file(&tmp);
        NpyError::Io { path: name, source }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array, Axis};

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/npy/");

    fn fixture(name: &str) -> DynArray {
        read_npy(format!("{FIXTURES}{name}")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn arr<T: Element>(shape: &[usize], v: Vec<T>) -> DynArray {
        DynArray::new(ArrayD::from_shape_vec(IxDyn(shape), v).unwrap())
    }

    fn tmp_path(tag: &str) -> std::path::PathBuf {
        std::env::temp_dir().join(format!(
            "chunkwise_npy_test_{}_{tag}.npy",
            std::process::id()
        ))
    }

    fn floats<T: Element>(conv: impl Fn(f64) -> T) -> Vec<T> {
        let mut v: Vec<f64> = (0..12).map(|i| (i as f64 - 5.0) / 4.0).collect();
        v[9] = f64::NEG_INFINITY;
        v[10] = f64::INFINITY;
        v[11] = f64::NAN;
        v.into_iter().map(conv).collect()
    }

    /// Equality treating NaN == NaN, elementwise in logical order.
    fn same(a: &DynArray, b: &DynArray) -> bool {
        if a.dtype() != b.dtype() || a.shape() != b.shape() {
            return false;
        }
        (0..a.len()).all(|i| {
            let (x, y) = (a.get_flat(i).unwrap(), b.get_flat(i).unwrap());
            x == y || (format!("{x:?}").contains("NaN") && format!("{y:?}").contains("NaN"))
        })
    }

    const ALL: &[&str] = &[
        "bool.npy",
        "uint8.npy",
        "int32.npy",
        "int64.npy",
        "float32.npy",
        "float64.npy",
        "int32_1d.npy",
        "scalar_f8.npy",
        "empty_0x3_i8.npy",
        "fortran_f8.npy",
        "fortran_i4_3d.npy",
        "big_f8.npy",
        "big_i4.npy",
        "v2_f4.npy",
        "v3_i8.npy",
    ];

    #[test]
    fn reads_each_dtype() {
        let b = fixture("bool.npy");
        assert_eq!(b, arr(&[3, 4], (0..12).map(|i| i % 3 == 0).collect()));
        assert_eq!(
            fixture("uint8.npy"),
            arr(&[3, 4], (0..12u8).map(|i| i * 21).collect())
        );
        assert_eq!(
            fixture("int32.npy"),
            arr(&[3, 4], (0..12).map(|i| i - 5).collect::<Vec<i32>>())
        );
        assert_eq!(
            fixture("int64.npy"),
            arr(
                &[3, 4],
                (0..12i64).map(|i| (i - 5) * 1_000_000_000_000).collect()
            )
        );
        let f32s = fixture("float32.npy");
        assert!(same(&f32s, &arr(&[3, 4], floats(|x| x as f32))));
        let f64s = fixture("float64.npy");
        assert!(same(&f64s, &arr(&[3, 4], floats(|x| x))));
        let DynArray::F64(x) = &f64s else { panic!() };
        assert!(x[[2, 3]].is_nan() && x[[2, 2]] == f64::INFINITY && x[[2, 1]] == f64::NEG_INFINITY);
        assert_eq!(
            fixture("int32_1d.npy"),
            arr(&[5], (0..5).map(|i| -7 * i).collect::<Vec<i32>>())
        );
    }

    #[test]
    fn reads_0d_and_empty() {
        assert_eq!(fixture("scalar_f8.npy"), arr(&[], vec![3.5f64]));
        let e = fixture("empty_0x3_i8.npy");
        assert_eq!(e, arr::<i64>(&[0, 3], vec![]));
    }

    #[test]
    fn reads_fortran_order_as_standard_layout() {
        let a = fixture("fortran_f8.npy");
        assert_eq!(a, arr(&[3, 4], (0..12).map(f64::from).collect()));
        let DynArray::F64(x) = &a else { panic!() };
        assert!(x.is_standard_layout());
        let b = fixture("fortran_i4_3d.npy");
        assert_eq!(b, arr(&[2, 3, 4], (0..24).collect::<Vec<i32>>()));
        let DynArray::I32(y) = &b else { panic!() };
        assert!(y.is_standard_layout());
        assert_eq!(y[[1, 2, 3]], 23);
        assert_eq!(y[[1, 0, 2]], 14);
    }

    #[test]
    fn reads_big_endian_and_versions_2_3() {
        assert_eq!(
            fixture("big_f8.npy"),
            arr(&[3, 4], (0..12).map(|i| f64::from(i) - 5.5).collect())
        );
        assert_eq!(
            fixture("big_i4.npy"),
            arr(&[2, 6], (0..12).map(|i| i - 6).collect::<Vec<i32>>())
        );
        assert_eq!(
            fixture("v2_f4.npy"),
            arr(&[2, 3], (0..6).map(|i| i as f32 * 1.5).collect())
        );
        assert_eq!(fixture("v3_i8.npy"), arr(&[4], vec![100i64, 101, 102, 103]));
    }

    #[test]
    fn unsupported_dtype_is_reported() {
        let err = read_npy(format!("{FIXTURES}float16.npy")).unwrap_err();
        match &err {
            NpyError::UnsupportedDType { path, descr } => {
                assert!(path.ends_with("float16.npy"));
                assert_eq!(descr, "<f2");
            }
            e => panic!("wrong error {e:?}"),
        }
        assert!(err.to_string().contains("float16.npy"));
        for descr in [
            "<c32",
            "<U5",
            "|O",
            "<f2",
            "|c8",
            "|f8",
            "[('a', '<i4'), ('b', '<f8')]",
        ] {
            let quoted = if descr.starts_with('[') {
                descr.to_string()
            } else {
                format!("'{descr}'")
            };
            let bytes = raw_file(
                1,
                &format!("{{'descr': {quoted}, 'fortran_order': False, 'shape': (1,), }}"),
                &[0; 16],
            );
            match read_npy_bytes(&bytes, "x.npy") {
                Err(NpyError::UnsupportedDType { path, descr: d }) => {
                    assert_eq!(path, "x.npy");
                    assert_eq!(d, descr);
                }
                other => panic!("{descr}: {other:?}"),
            }
        }
    }

    #[test]
    fn fixtures_round_trip_through_files_and_bytes() {
        for name in ALL {
            let a = fixture(name);
            let p = tmp_path(&format!("rt_{name}"));
            write_npy(&p, &a).unwrap();
            let b = read_npy(&p).unwrap();
            assert!(same(&a, &b), "{name}");
            let bytes = std::fs::read(&p).unwrap();
            assert_eq!(bytes, write_npy_bytes(&a), "{name}");
            let c = read_npy_bytes(&bytes, name).unwrap();
            assert!(same(&a, &c), "{name}");
            std::fs::remove_file(&p).unwrap();
        }
    }

    #[test]
    fn written_bytes_match_numpy_for_c_order_fixtures() {
        // NumPy's own output for little-endian C-order arrays is byte-identical to ours.
        for name in [
            "bool.npy",
            "uint8.npy",
            "int32.npy",
            "int64.npy",
            "float32.npy",
            "float64.npy",
            "int32_1d.npy",
            "scalar_f8.npy",
            "empty_0x3_i8.npy",
        ] {
            let bytes = std::fs::read(format!("{FIXTURES}{name}")).unwrap();
            let ours = write_npy_bytes(&read_npy_bytes(&bytes, name).unwrap());
            assert_eq!(ours, bytes, "{name}");
        }
    }

    #[test]
    fn header_layout() {
        for shape in [
            vec![],
            vec![5],
            vec![3, 4],
            vec![1; 40],
            vec![123456789, 0, 7],
        ] {
            let a = DynArray::full(DType::U8, &shape, chunkwise_ir::Scalar::U8(0));
            let bytes = write_npy_bytes(&a);
            assert_eq!(&bytes[..8], b"\x93NUMPY\x01\x00");
            let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
            assert_eq!((10 + hlen) % 64, 0);
            assert_eq!(bytes[10 + hlen - 1], b'\n');
            assert_eq!(bytes.len(), 10 + hlen + a.len());
            assert_eq!(read_npy_bytes(&bytes, "h").unwrap(), a);
        }
        let bytes = write_npy_bytes(&arr(&[], vec![1u8]));
        let text = std::str::from_utf8(&bytes[10..bytes.len() - 1]).unwrap();
        assert!(text.starts_with("{'descr': '|u1', 'fortran_order': False, 'shape': (), }"));
    }

    #[test]
    fn huge_header_uses_version_2() {
        let shape = vec![1usize; 25_000];
        let a = DynArray::full(DType::F64, &shape, chunkwise_ir::Scalar::F64(2.5));
        let bytes = write_npy_bytes(&a);
        assert_eq!(&bytes[..8], b"\x93NUMPY\x02\x00");
        let hlen = u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize;
        assert!(hlen > 65535);
        assert_eq!((12 + hlen) % 64, 0);
        assert_eq!(read_npy_bytes(&bytes, "big").unwrap(), a);
    }

    #[test]
    fn writes_non_standard_layout_in_logical_order() {
        let base = Array::from_shape_vec((3, 4), (0..12).map(|i| i as f32).collect()).unwrap();
        let t = DynArray::F32(base.t().to_owned().into_dyn().into_shared());
        let DynArray::F32(tt) = &t else { panic!() };
        let t_view = DynArray::F32(base.clone().into_dyn().into_shared().reversed_axes());
        let DynArray::F32(tv) = &t_view else { panic!() };
        assert!(!tv.is_standard_layout());
        assert_eq!(tt, tv);
        let back = read_npy_bytes(&write_npy_bytes(&t_view), "t").unwrap();
        assert_eq!(back, t);
        // Sliced with a step, 3-D, through a file.
        let c = Array::from_shape_vec((2, 3, 4), (0..24i64).collect())
            .unwrap()
            .into_dyn();
        let mut v = c.into_shared();
        v.slice_axis_inplace(Axis(2), ndarray::Slice::new(0, None, 2));
        v.swap_axes(0, 1);
        let d = DynArray::I64(v.clone());
        let p = tmp_path("strided");
        write_npy(&p, &d).unwrap();
        let back = read_npy(&p).unwrap();
        std::fs::remove_file(&p).unwrap();
        assert_eq!(back.shape(), &[3, 2, 2]);
        assert_eq!(back, DynArray::new(v.to_owned()));
        let DynArray::I64(b) = &back else { panic!() };
        assert_eq!(
            b.iter().copied().collect::<Vec<_>>(),
            vec![0, 2, 12, 14, 4, 6, 16, 18, 8, 10, 20, 22]
        );
    }

    #[test]
    fn round_trips_every_dtype_larger_than_a_chunk() {
        let n = (IO_CHUNK / 4) * 3 + 17; // several streaming chunks for every dtype
        let mut arrays = vec![
            arr(&[n], (0..n).map(|i| i % 7 == 0).collect()),
            arr(&[n], (0..n).map(|i| i as u8).collect()),
            arr(&[n], (0..n).map(|i| i as i32 - 1000).collect()),
            arr(&[n], (0..n).map(|i| -(i as i64) << 20).collect()),
            arr(&[n], (0..n).map(|i| i as f32 * 0.25).collect()),
            arr(
                &[n / 7, 7],
                (0..n / 7 * 7).map(|i| i as f64 / 3.0).collect(),
            ),
            arr(
                &[n],
                (0..n)
                    .map(|i| chunkwise_ir::Complex32::new(i as f32 * 0.5, -(i as f32)))
                    .collect(),
            ),
            arr(
                &[n],
                (0..n)
                    .map(|i| chunkwise_ir::Complex64::new(i as f64 / 3.0, 1e300 / (i as f64 + 1.0)))
                    .collect(),
            ),
        ];
        // The other integer types, with values that wrap in each.
        let wide = arr(
            &[n],
            (0..n).map(|i| (i as i64 - 5000) * 1_000_003).collect(),
        );
        arrays.extend(
            [DType::I8, DType::I16, DType::U16, DType::U32, DType::U64].map(|d| wide.cast(d)),
        );
        assert!(DType::ALL
            .iter()
            .all(|d| arrays.iter().any(|a| a.dtype() == *d)));
        for a in arrays {
            let p = tmp_path(&format!(
                "big_{}",
                a.dtype().numpy_str().replace(['<', '|'], "")
            ));
            write_npy(&p, &a).unwrap();
            assert_eq!(read_npy(&p).unwrap(), a);
            std::fs::remove_file(&p).unwrap();
        }
    }

    #[test]
    fn bool_nonzero_is_true() {
        let bytes = raw_file(
            1,
            "{'descr': '|b1', 'fortran_order': False, 'shape': (4,), }",
            &[0, 1, 2, 255],
        );
        assert_eq!(
            read_npy_bytes(&bytes, "b").unwrap(),
            arr(&[4], vec![false, true, true, true])
        );
    }

    /// A file with the given version, header text (unpadded) and data.
    fn raw_file(major: u8, header: &str, data: &[u8]) -> Vec<u8> {
        let mut v = b"\x93NUMPY".to_vec();
        v.extend_from_slice(&[major, 0]);
        if major == 1 {
            v.extend_from_slice(&(header.len() as u16).to_le_bytes());
        } else {
            v.extend_from_slice(&(header.len() as u32).to_le_bytes());
        }
        v.extend_from_slice(header.as_bytes());
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn header_variations_are_accepted() {
        let data: Vec<u8> = (0..6i32).flat_map(|i| i.to_le_bytes()).collect();
        let want = arr(&[2, 3], (0..6).collect::<Vec<i32>>());
        for h in [
            "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 3), }",
            "{'shape':(2,3),'fortran_order':False,'descr':'<i4'}",
            "  {\"descr\" : \"<i4\" ,\n 'shape' : ( 2 , 3 , ) , 'fortran_order' : False }  \n",
            "{'descr': '=i4', 'fortran_order': False, 'shape': (2L, 3L)}",
            "{'descr': 'i4', 'fortran_order': False, 'shape': [2, 3]}",
        ] {
            let h = h.replace(
                "'descr': 'i4'",
                if cfg!(target_endian = "little") {
                    "'descr': '<i4'"
                } else {
                    "'descr': '>i4'"
                },
            );
            for major in [1, 2, 3] {
                let got = read_npy_bytes(&raw_file(major, &h, &data), "v");
                assert_eq!(got.unwrap_or_else(|e| panic!("{h}: {e}")), want, "{h}");
            }
        }
        // Fortran order for 1-d and with '?' bool code.
        let b = raw_file(
            1,
            "{'descr': '?', 'fortran_order': True, 'shape': (3,)}",
            &[1, 0, 1],
        );
        assert_eq!(
            read_npy_bytes(&b, "f").unwrap(),
            arr(&[3], vec![true, false, true])
        );
    }

    fn format_error(bytes: &[u8]) -> String {
        match read_npy_bytes(bytes, "bad.npy") {
            Err(NpyError::Format { path, reason }) => {
                assert_eq!(path, "bad.npy");
                reason
            }
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn malformed_headers_are_format_errors() {
        let ok = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }";
        let d = [0u8; 16];
        assert!(format_error(b"").contains("magic"));
        assert!(format_error(b"PK\x03\x04 this is a zip").contains("magic"));
        assert!(format_error(&raw_file(4, ok, &d)).contains("version 4.0"));
        for h in [
            "{'descr': '<f8', 'fortran_order': False}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'extra': 1}",
            "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f8', 'fortran_order': 0, 'shape': (2,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2.0,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': 2}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)",
            "{'descr': '<f8, 'fortran_order': False, 'shape': (2,)}",
            "{'descr': '<f8', 'fortran_order': Maybe, 'shape': (2,)}",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)} junk",
            "[1, 2]",
            "",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999999999999999999999,)}",
        ] {
            format_error(&raw_file(1, h, &d));
        }
        let deep = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
        format_error(&raw_file(
            2,
            &format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {deep}}}"),
            &d,
        ));
    }

    #[test]
    fn truncated_data_names_expected_and_actual_bytes() {
        let bytes = std::fs::read(format!("{FIXTURES}float64.npy")).unwrap();
        let r = format_error(&bytes[..bytes.len() - 5]);
        assert!(r.contains("91 bytes") && r.contains("96 bytes"), "{r}");
        let r = format_error(&[&bytes[..], &[0u8]].concat());
        assert!(r.contains("97 bytes") && r.contains("96 bytes"), "{r}");
        // The same through a file.
        let p = tmp_path("trunc");
        std::fs::write(&p, &bytes[..bytes.len() - 5]).unwrap();
        match read_npy(&p) {
            Err(NpyError::Format { path, reason }) => {
                assert_eq!(path, p.display().to_string());
                assert!(
                    reason.contains("91 bytes") && reason.contains("96 bytes"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        std::fs::write(&p, &bytes[..30]).unwrap();
        assert!(matches!(read_npy(&p), Err(NpyError::Format { .. })));
        std::fs::write(&p, &bytes[..9]).unwrap();
        assert!(matches!(read_npy(&p), Err(NpyError::Format { .. })));
        std::fs::write(&p, b"\x93NU").unwrap();
        assert!(matches!(read_npy(&p), Err(NpyError::Format { .. })));
        std::fs::remove_file(&p).unwrap();
        assert!(matches!(read_npy(&p), Err(NpyError::Io { .. })));
    }

    #[test]
    fn overflowing_shapes_are_errors_without_allocation() {
        let big = usize::MAX / 2;
        for shape in [
            format!("({big}, {big})"),
            format!("({big}, 3)"),
            format!("({},)", usize::MAX),
            format!("({}, 0, {})", usize::MAX, usize::MAX),
            "(18446744073709551616,)".to_string(),
            "(1000000000000,)".to_string(),
        ] {
            let h = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
            format_error(&raw_file(1, &h, &[0; 8]));
            let p = tmp_path("overflow");
            std::fs::write(&p, raw_file(1, &h, &[0; 8])).unwrap();
            assert!(
                matches!(read_npy(&p), Err(NpyError::Format { .. })),
                "{shape}"
            );
            std::fs::remove_file(&p).unwrap();
        }
        // Header length field larger than the file.
        let mut b = raw_file(2, "{}", &[]);
        b[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        format_error(&b);
        let p = tmp_path("hlen");
        std::fs::write(&p, &b).unwrap();
        assert!(matches!(read_npy(&p), Err(NpyError::Format { .. })));
        std::fs::remove_file(&p).unwrap();
    }

    #[test]
    fn never_panics_on_mutated_or_truncated_input() {
        // Deterministic xorshift fuzzing over truncations and byte mutations of every fixture.
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rng = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for name in ALL.iter().chain(["float16.npy"].iter()) {
            let bytes = std::fs::read(format!("{FIXTURES}{name}")).unwrap();
            for cut in 0..bytes.len() {
                let _ = read_npy_bytes(&bytes[..cut], name);
            }
            for _ in 0..2000 {
                let mut m = bytes.clone();
                for _ in 0..1 + rng() % 4 {
                    let i = (rng() as usize) % m.len();
                    m[i] = match rng() % 4 {
                        0 => rng() as u8,
                        1 => b"()[]{},:'\"0123456789 -L"[(rng() % 23) as usize],
                        2 => m[i] ^ 1,
                        _ => 0xff,
                    };
                }
                let _ = read_npy_bytes(&m, name);
            }
        }
        for len in 0..200 {
            let junk: Vec<u8> = (0..len).map(|_| rng() as u8).collect();
            let _ = read_npy_bytes(&junk, "junk");
            let mut j = b"\x93NUMPY\x01\x00".to_vec();
            j.extend_from_slice(&junk);
            let _ = read_npy_bytes(&j, "junk");
        }
    }

    #[test]
    fn write_is_atomic_and_reports_io_errors() {
        let p = tmp_path("atomic");
        let a = arr(&[2], vec![1.0f64, 2.0]);
        write_npy(&p, &a).unwrap();
        // Overwriting leaves no temporary files behind.
        write_npy(&p, &arr(&[1], vec![7u8])).unwrap();
        assert_eq!(read_npy(&p).unwrap(), arr(&[1], vec![7u8]));
        let dir = p.parent().unwrap();
        let stem = p.file_name().unwrap().to_string_lossy().into_owned();
        let leftovers = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                let n = e.file_name().to_string_lossy().into_owned();
                n.contains(&stem) && n != stem
            })
            .count();
        assert_eq!(leftovers, 0);
        // Temporaries are hidden and named as chunkwise's.
        let t = temp_name(p.file_name().unwrap()).into_string().unwrap();
        let pid = std::process::id();
        assert!(
            t.starts_with(&format!(".{stem}.chunkwise-tmp-{pid}-")),
            "{t}"
        );
        std::fs::remove_file(&p).unwrap();
        // A missing directory is an I/O error naming the file.
        let bad = std::env::temp_dir()
            .join("chunkwise_no_such_dir_xyz")
            .join("a.npy");
        match write_npy(&bad, &a) {
            Err(NpyError::Io { path, .. }) => assert!(path.ends_with("a.npy")),
            other => panic!("{other:?}"),
        }
        assert!(!bad.exists());
    }
}
