//! Chunk grids: how an array's shape is cut into blocks.
//!
//! Each axis has a list of chunk lengths, as in Dask. A uniform axis (every chunk the same
//! length but possibly the first and the last) is stored in O(1) space, so an axis of 10^12
//! elements in 10^6 chunks is a few integers; an irregular axis stores the prefix sums of its
//! chunk lengths. Block -> element range is O(1) for both; element -> block is O(1) on
//! uniform axes and O(log n) on irregular ones.
//!
//! A zero-length axis has exactly one chunk of length 0, so every grid has at least one block.

use crate::error::IrError;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

/// The most chunks an irregular (explicit) axis built from other axes may list
/// ([`AxisChunks::concat`]): 2^24, 128 MiB of offsets.
pub const MAX_LISTED_CHUNKS: u64 = 1 << 24;

/// Joins of at most this many chunks are built from their listed lengths.
const SMALL_CONCAT_CHUNKS: u64 = 1 << 16;

/// The chunking of one axis.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum AxisChunks {
    /// `len` elements cut into a first chunk of `first` elements, then chunks of `chunk`
    /// elements, the last one possibly shorter. Invariants: `1 <= first <= chunk`, or
    /// `len == 0` (then one empty chunk).
    Uniform {
        /// Axis length.
        len: u64,
        /// Length of every chunk but the first and the last.
        chunk: u64,
        /// Length of the first chunk (`min(first, len)` elements).
        first: u64,
    },
    /// Chunk boundaries: `offsets[0] == 0`, strictly increasing, the last entry is the length.
    Explicit {
        /// Prefix sums of the chunk lengths.
        offsets: Arc<[u64]>,
    },
}

impl AxisChunks {
    /// `len` elements in chunks of `chunk` (the last one possibly shorter).
    pub fn regular(len: u64, chunk: u64) -> Result<AxisChunks, IrError> {
        if chunk == 0 {
            return Err(IrError::InvalidChunks(format!(
                "chunk size must be at least 1 (axis of length {len})"
            )));
        }
        Ok(AxisChunks::Uniform {
            len,
            chunk,
            first: chunk,
        }
        .normalized())
    }

    /// `len` elements in a first chunk of `first` elements, then chunks of `chunk`.
    pub fn uniform(len: u64, chunk: u64, first: u64) -> Result<AxisChunks, IrError> {
        if first == 0 || first > chunk {
            return Err(IrError::InvalidChunks(format!(
                "need 1 <= first <= chunk, got first {first} and chunk {chunk}"
            )));
        }
        Ok(AxisChunks::Uniform { len, chunk, first }.normalized())
    }

    /// Chunks of the given lengths; zero-length chunks are dropped, and the list is stored
    /// in O(1) space when it is uniform. The lengths must add up to at most `u64::MAX`
    /// (lengths from user input go through [`AxisChunks::try_from_lengths`]).
    pub fn from_lengths(lengths: &[u64]) -> AxisChunks {
        AxisChunks::try_from_lengths(lengths)
            .expect("chunk lengths of an existing axis add up to at most u64::MAX")
    }

    /// [`AxisChunks::from_lengths`], or an error when the lengths add up to more than
    /// `u64::MAX` elements.
    pub fn try_from_lengths(lengths: &[u64]) -> Result<AxisChunks, IrError> {
        let len = checked_sum(lengths).ok_or_else(|| {
            IrError::InvalidChunks(format!(
                "{} chunk lengths add up to more than 2^64 - 1 elements (overflow)",
                lengths.len()
            ))
        })?;
        let nonzero: Vec<u64> = lengths.iter().copied().filter(|&l| l > 0).collect();
        Ok(AxisChunks::from_nonzero(&nonzero, len))
    }

    /// The chunking of nonzero `lengths` adding up to `len`.
    fn from_nonzero(nonzero: &[u64], len: u64) -> AxisChunks {
        match nonzero {
            [] => AxisChunks::Uniform {
                len: 0,
                chunk: 1,
                first: 1,
            },
            [only] => AxisChunks::Uniform {
                len,
                chunk: *only,
                first: *only,
            },
            [first, second] => AxisChunks::Uniform {
                len,
                chunk: *first.max(second),
                first: *first,
            },
            [first, rest @ ..] => {
                let chunk = rest[0];
                let inner = &rest[..rest.len() - 1];
                let last = rest[rest.len() - 1];
                if *first <= chunk && inner.iter().all(|&c| c == chunk) && last <= chunk {
                    AxisChunks::Uniform {
                        len,
                        chunk,
                        first: *first,
                    }
                } else {
                    let mut offsets = Vec::with_capacity(nonzero.len() + 1);
                    let mut acc = 0;
                    offsets.push(0);
                    for l in nonzero {
                        acc += l;
                        offsets.push(acc);
                    }
                    AxisChunks::Explicit {
                        offsets: offsets.into(),
                    }
                }
            }
        }
    }

    /// The axis length.
    pub fn len(&self) -> u64 {
        match self {
            AxisChunks::Uniform { len, .. } => *len,
            AxisChunks::Explicit { offsets } => offsets[offsets.len() - 1],
        }
    }

    /// Whether the axis has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of chunks (at least 1).
    pub fn num_blocks(&self) -> u64 {
        match *self {
            AxisChunks::Uniform { len, chunk, first } => {
                if len <= first {
                    1
                } else {
                    1 + (len - first).div_ceil(chunk)
                }
            }
            AxisChunks::Explicit { ref offsets } => offsets.len() as u64 - 1,
        }
    }

    /// Element range of block `b` (`b < num_blocks()`), in O(1).
    pub fn range(&self, b: u64) -> Range<u64> {
        match *self {
            AxisChunks::Uniform { len, chunk, first } => {
                if b == 0 {
                    0..first.min(len)
                } else {
                    // No overflow for an axis ending near u64::MAX: `start < len`.
                    let start = first + (b - 1) * chunk;
                    start..start + chunk.min(len - start)
                }
            }
            AxisChunks::Explicit { ref offsets } => offsets[b as usize]..offsets[b as usize + 1],
        }
    }

    /// Length of block `b`.
    pub fn block_len(&self, b: u64) -> u64 {
        let r = self.range(b);
        r.end - r.start
    }

    /// The block holding element `i` (`i < len()`; for `i >= len()` the last block).
    pub fn block_of(&self, i: u64) -> u64 {
        match *self {
            AxisChunks::Uniform { first, chunk, .. } => {
                if i < first {
                    0
                } else {
                    (1 + (i - first) / chunk).min(self.num_blocks() - 1)
                }
            }
            AxisChunks::Explicit { ref offsets } => {
                let p = offsets.partition_point(|&o| o <= i) as u64;
                p.saturating_sub(1).min(self.num_blocks() - 1)
            }
        }
    }

    /// The longest chunk.
    pub fn max_chunk(&self) -> u64 {
        match *self {
            AxisChunks::Uniform { len, chunk, .. } => chunk.min(len),
            AxisChunks::Explicit { ref offsets } => {
                offsets.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(0)
            }
        }
    }

    /// Chunk lengths (materialized: use for small axes, display and tests).
    pub fn lengths(&self) -> Vec<u64> {
        (0..self.num_blocks()).map(|b| self.block_len(b)).collect()
    }

    /// The axes `parts` joined end to end (concatenation), equal to
    /// `from_lengths` of their joined chunk lengths, in space bounded by the number of parts
    /// when the result is uniform: joining axes of 10^14 chunks lists none of them. An
    /// irregular result of more than [`MAX_LISTED_CHUNKS`] chunks is refused (its offsets
    /// would not fit in memory), as are lengths adding up to more than `u64::MAX`.
    pub fn concat(parts: &[&AxisChunks]) -> Result<AxisChunks, IrError> {
        let mut len = 0u64;
        let mut blocks = 0u64;
        for p in parts {
            len = len.checked_add(p.len()).ok_or_else(|| {
                IrError::InvalidChunks(format!(
                    "joined axis of {} parts is longer than 2^64 - 1 elements (overflow)",
                    parts.len()
                ))
            })?;
            if !p.is_empty() {
                blocks = blocks.saturating_add(p.num_blocks());
            }
        }
        if blocks <= SMALL_CONCAT_CHUNKS {
            let lengths: Vec<u64> = parts.iter().flat_map(|p| p.lengths()).collect();
            return AxisChunks::try_from_lengths(&lengths);
        }
        let irregular = || {
            IrError::InvalidChunks(format!(
                "the joined axis has {blocks} chunks of unequal lengths, more than the \
                 {MAX_LISTED_CHUNKS} an irregular axis can list: rechunk the inputs to one \
                 chunk size first"
            ))
        };
        // Runs of equal chunk lengths, in order: (length, count).
        let mut runs: Vec<(u64, u64)> = Vec::new();
        fn push(l: u64, n: u64, runs: &mut Vec<(u64, u64)>) {
            match runs.last_mut() {
                _ if l == 0 || n == 0 => {}
                Some((last, count)) if *last == l => *count += n,
                _ => runs.push((l, n)),
            }
        }
        for p in parts.iter().filter(|p| !p.is_empty()) {
            let n = p.num_blocks();
            match **p {
                AxisChunks::Uniform { chunk, .. } if n > 2 => {
                    push(p.block_len(0), 1, &mut runs);
                    push(chunk, n - 2, &mut runs);
                    push(p.block_len(n - 1), 1, &mut runs);
                }
                AxisChunks::Uniform { .. } => {
                    for b in 0..n {
                        push(p.block_len(b), 1, &mut runs);
                    }
                }
                // An explicit axis is not uniform, nor is any join of it with more chunks.
                AxisChunks::Explicit { .. } if blocks > MAX_LISTED_CHUNKS => {
                    return Err(irregular())
                }
                AxisChunks::Explicit { .. } => {
                    for b in 0..n {
                        push(p.block_len(b), 1, &mut runs);
                    }
                }
            }
            // More than three runs is never uniform.
            if runs.len() > 3 && blocks > MAX_LISTED_CHUNKS {
                return Err(irregular());
            }
        }
        // `from_lengths`'s uniform form (more than two chunks): a first chunk of at most
        // `chunk`, then chunks of `chunk`, a last one of at most `chunk`.
        let uniform = match runs.as_slice() {
            [(c, _)] => Some((*c, *c)),
            [(a, 1), (c, _)] if a < c => Some((*a, *c)),
            [(c, k), (b, 1)] if b < c && *k >= 2 => Some((*c, *c)),
            [(a, 1), (c, k), (b, 1)] if a < c && b < c && *k >= 1 => Some((*a, *c)),
            _ => None,
        };
        match uniform {
            Some((first, chunk)) => Ok(AxisChunks::Uniform { len, chunk, first }),
            None if blocks > MAX_LISTED_CHUNKS => Err(irregular()),
            None => {
                let mut lengths = Vec::with_capacity(blocks as usize);
                for &(l, n) in &runs {
                    lengths.extend(std::iter::repeat_n(l, n as usize));
                }
                AxisChunks::try_from_lengths(&lengths)
            }
        }
    }

    /// The chunks of the sub-range `r` of this axis (chunk boundaries inside `r` are kept).
    pub fn sub_range(&self, r: Range<u64>) -> AxisChunks {
        if r.start >= r.end {
            return AxisChunks::from_lengths(&[]);
        }
        match *self {
            AxisChunks::Uniform { chunk, .. } => {
                let b0 = self.block_of(r.start);
                let first = self.range(b0).end.min(r.end) - r.start;
                AxisChunks::Uniform {
                    len: r.end - r.start,
                    chunk: chunk.max(first),
                    first,
                }
                .normalized()
            }
            AxisChunks::Explicit { .. } => {
                let b0 = self.block_of(r.start);
                let b1 = self.block_of(r.end - 1);
                let lens: Vec<u64> = (b0..=b1)
                    .map(|b| {
                        let br = self.range(b);
                        br.end.min(r.end) - br.start.max(r.start)
                    })
                    .collect();
                AxisChunks::from_lengths(&lens)
            }
        }
    }

    /// The chunks in reverse order.
    pub fn reversed(&self) -> AxisChunks {
        match *self {
            AxisChunks::Uniform { len, chunk, .. } => {
                let n = self.num_blocks();
                let last = self.block_len(n - 1);
                if n <= 2 {
                    let mut l = self.lengths();
                    l.reverse();
                    return AxisChunks::from_lengths(&l);
                }
                // Reversed: the partial last chunk comes first; the partial first comes last.
                AxisChunks::Uniform {
                    len,
                    chunk,
                    first: last,
                }
            }
            AxisChunks::Explicit { .. } => {
                let mut l = self.lengths();
                l.reverse();
                AxisChunks::from_lengths(&l)
            }
        }
    }

    /// The canonical form: axes of at most two chunks are rebuilt from their lengths, so
    /// that equal chunkings compare equal.
    fn normalized(self) -> AxisChunks {
        if self.num_blocks() <= 2 {
            AxisChunks::from_lengths(&self.lengths())
        } else {
            self
        }
    }
}

impl fmt::Display for AxisChunks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            AxisChunks::Uniform { len, chunk, first } => {
                if first == chunk || len <= first {
                    write!(f, "{len}/{}", chunk.min(len.max(1)))
                } else {
                    write!(f, "{len}/{first}+{chunk}")
                }
            }
            AxisChunks::Explicit { .. } => {
                let l = self.lengths();
                if l.len() <= 8 {
                    write!(f, "{:?}", l)
                } else {
                    write!(f, "{}/[{} chunks]", self.len(), l.len())
                }
            }
        }
    }
}

/// The chunking of every axis of an array.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ChunkGrid {
    axes: Vec<AxisChunks>,
}

impl ChunkGrid {
    /// A grid from per-axis chunkings.
    pub fn new(axes: Vec<AxisChunks>) -> ChunkGrid {
        ChunkGrid { axes }
    }

    /// `shape` cut into chunks of `chunks` (one size per axis; edge chunks may be shorter).
    ///
    /// ```
    /// use chunkwise_ir::ChunkGrid;
    /// let g = ChunkGrid::regular(&[10, 7], &[4, 7]).unwrap();
    /// assert_eq!(g.num_blocks(), vec![3, 1]);
    /// assert_eq!(g.axis(0).lengths(), vec![4, 4, 2]);
    /// ```
    pub fn regular(shape: &[u64], chunks: &[u64]) -> Result<ChunkGrid, IrError> {
        if shape.len() != chunks.len() {
            return Err(IrError::InvalidChunks(format!(
                "chunk sizes {chunks:?} do not match shape {shape:?}"
            )));
        }
        let axes = shape
            .iter()
            .zip(chunks)
            .map(|(&len, &c)| AxisChunks::regular(len, c))
            .collect::<Result<_, _>>()?;
        Ok(ChunkGrid { axes })
    }

    /// A grid from explicit per-axis chunk lengths; checks they add up to `shape`.
    pub fn explicit(shape: &[u64], lengths: &[Vec<u64>]) -> Result<ChunkGrid, IrError> {
        if shape.len() != lengths.len() {
            return Err(IrError::InvalidChunks(format!(
                "{} chunk lists for an array of {} dimensions",
                lengths.len(),
                shape.len()
            )));
        }
        let mut axes = Vec::with_capacity(shape.len());
        for (ax, (&len, l)) in shape.iter().zip(lengths).enumerate() {
            let Some(total) = checked_sum(l) else {
                return Err(IrError::InvalidChunks(format!(
                    "chunks of axis {ax} add up to more than 2^64 - 1 elements (overflow), \
                     but the axis has length {len}"
                )));
            };
            if total != len {
                return Err(IrError::InvalidChunks(format!(
                    "chunks of axis {ax} add up to {total}, but the axis has length {len}"
                )));
            }
            axes.push(AxisChunks::try_from_lengths(l)?);
        }
        Ok(ChunkGrid { axes })
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.axes.len()
    }

    /// The chunking of axis `a`.
    pub fn axis(&self, a: usize) -> &AxisChunks {
        &self.axes[a]
    }

    /// All axes.
    pub fn axes(&self) -> &[AxisChunks] {
        &self.axes
    }

    /// The array shape.
    pub fn shape(&self) -> Vec<u64> {
        self.axes.iter().map(AxisChunks::len).collect()
    }

    /// Blocks per axis.
    pub fn num_blocks(&self) -> Vec<u64> {
        self.axes.iter().map(AxisChunks::num_blocks).collect()
    }

    /// Total number of blocks (saturating at `u64::MAX`).
    pub fn total_blocks(&self) -> u64 {
        self.axes
            .iter()
            .fold(1u64, |acc, a| acc.saturating_mul(a.num_blocks()))
    }

    /// The shape of block `b` (per-axis block coordinates).
    pub fn block_shape(&self, b: &[u64]) -> Vec<usize> {
        self.axes
            .iter()
            .zip(b)
            .map(|(a, &i)| a.block_len(i) as usize)
            .collect()
    }

    /// The element ranges of block `b`.
    pub fn block_ranges(&self, b: &[u64]) -> Vec<Range<u64>> {
        self.axes.iter().zip(b).map(|(a, &i)| a.range(i)).collect()
    }

    /// Replaces axis `a`.
    pub fn with_axis(mut self, a: usize, chunks: AxisChunks) -> ChunkGrid {
        self.axes[a] = chunks;
        self
    }
}

impl fmt::Display for ChunkGrid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(")?;
        for (i, a) in self.axes.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{a}")?;
        }
        f.write_str(")")
    }
}

/// The sum of `values`, or `None` when it overflows `u64`.
pub fn checked_sum(values: &[u64]) -> Option<u64> {
    values.iter().try_fold(0u64, |acc, &v| acc.checked_add(v))
}

/// The product of `values`, or `None` when it overflows `u64`.
pub fn checked_product(values: &[u64]) -> Option<u64> {
    values.iter().try_fold(1u64, |acc, &v| acc.checked_mul(v))
}

/// Linear (C-order) index of block coordinates `b` in a grid with `nb` blocks per axis.
pub fn ravel(b: &[u64], nb: &[u64]) -> u64 {
    b.iter().zip(nb).fold(0, |acc, (&i, &n)| acc * n + i)
}

/// Block coordinates of linear (C-order) index `lin`, written into `out`.
pub fn unravel_into(mut lin: u64, nb: &[u64], out: &mut [u64]) {
    for (o, &n) in out.iter_mut().zip(nb).rev() {
        *o = lin % n;
        lin /= n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn huge_axis_is_metadata_only() {
        let a = AxisChunks::regular(1_000_000_000_000, 1_000_000).unwrap();
        assert_eq!(a.num_blocks(), 1_000_000);
        assert_eq!(a.range(999_999), 999_999_000_000..1_000_000_000_000);
        assert_eq!(a.block_of(123_456_789_012), 123_456);
        assert_eq!(std::mem::size_of_val(&a), 32);
    }

    #[test]
    fn empty_axis_has_one_empty_block() {
        let a = AxisChunks::regular(0, 5).unwrap();
        assert_eq!(a.num_blocks(), 1);
        assert_eq!(a.range(0), 0..0);
        assert_eq!(AxisChunks::from_lengths(&[0, 0]), a.clone().normalized());
    }

    #[test]
    fn from_lengths_detects_uniform() {
        assert!(matches!(
            AxisChunks::from_lengths(&[2, 5, 5, 3]),
            AxisChunks::Uniform {
                len: 15,
                chunk: 5,
                first: 2
            }
        ));
        assert!(matches!(
            AxisChunks::from_lengths(&[5, 2, 5]),
            AxisChunks::Explicit { .. }
        ));
        assert!(AxisChunks::regular(3, 0).is_err());
    }

    fn any_axis() -> impl Strategy<Value = AxisChunks> {
        prop_oneof![
            (0u64..60, 1u64..9).prop_map(|(n, c)| AxisChunks::regular(n, c).unwrap()),
            proptest::collection::vec(0u64..7, 0..9).prop_map(|l| AxisChunks::from_lengths(&l)),
        ]
    }

    /// Axes of many chunks (over the size joined from listed lengths), uniform or not.
    fn long_axis() -> impl Strategy<Value = AxisChunks> {
        prop_oneof![
            (1u64..4, 70_000u64..100_000, 0u64..4, 1u64..4).prop_map(|(c, n, r, f)| {
                let (c, f) = (c + 1, f.min(c + 1));
                AxisChunks::uniform(f + c * n + r.min(c), c, f).unwrap()
            }),
            (0u64..6, 1u64..4).prop_map(|(n, c)| AxisChunks::regular(n, c).unwrap()),
            proptest::collection::vec(0u64..4, 0..4).prop_map(|l| AxisChunks::from_lengths(&l)),
        ]
    }

    #[test]
    fn concat_refuses_overflow_and_huge_irregular_joins() {
        let half = AxisChunks::regular(1 << 63, 1 << 40).unwrap();
        let e = AxisChunks::concat(&[&half, &half]).unwrap_err();
        assert!(e.to_string().contains("overflow"), "{e}");
        // 10^14 chunks of 10, then a ragged chunk, then more: irregular and too long.
        let a = AxisChunks::regular(1_000_000_000_000_003, 10).unwrap();
        let e = AxisChunks::concat(&[&a, &a]).unwrap_err();
        assert!(e.to_string().contains("200000000000002 chunks"), "{e}");
        // ... but with the ragged chunk last it stays uniform, in O(1) space.
        let b = AxisChunks::regular(1_000_000_000_000_000, 10).unwrap();
        let j = AxisChunks::concat(&[&b, &b, &a]).unwrap();
        assert_eq!(j, AxisChunks::regular(3_000_000_000_000_003, 10).unwrap());
        assert!(AxisChunks::try_from_lengths(&[u64::MAX, 6]).is_err());
        // A last chunk longer than the others (joined listed: not uniform).
        let c = AxisChunks::uniform(1 + 2 * 100_000, 2, 1).unwrap();
        let d = AxisChunks::regular(3, 3).unwrap();
        let mut l = c.lengths();
        l.push(3);
        let j = AxisChunks::concat(&[&c, &d]).unwrap();
        assert!(matches!(j, AxisChunks::Explicit { .. }));
        assert_eq!(j, AxisChunks::from_lengths(&l));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn concat_is_from_lengths_of_the_joined_lengths(
            parts in proptest::collection::vec(long_axis(), 1..5)
        ) {
            let refs: Vec<&AxisChunks> = parts.iter().collect();
            let lengths: Vec<u64> = parts.iter().flat_map(|p| p.lengths()).collect();
            prop_assert_eq!(AxisChunks::concat(&refs).unwrap(), AxisChunks::from_lengths(&lengths));
        }
    }

    proptest! {
        #[test]
        fn ranges_tile_the_axis(a in any_axis()) {
            let mut next = 0;
            for b in 0..a.num_blocks() {
                let r = a.range(b);
                prop_assert_eq!(r.start, next);
                prop_assert!(r.end > r.start || a.is_empty());
                for i in r.clone() { prop_assert_eq!(a.block_of(i), b); }
                next = r.end;
            }
            prop_assert_eq!(next, a.len());
            prop_assert_eq!(AxisChunks::from_lengths(&a.lengths()), a.clone());
            let mut rev = a.lengths(); rev.reverse();
            prop_assert_eq!(a.reversed().lengths(), rev);
        }

        #[test]
        fn sub_range_keeps_boundaries(a in any_axis(), s in 0u64..60, l in 0u64..60) {
            let s = s.min(a.len());
            let e = (s + l).min(a.len());
            let sub = a.sub_range(s..e);
            prop_assert_eq!(sub.len(), e - s);
            // Every boundary of `sub` is a boundary of `a`, shifted.
            let mut off = s;
            for b in 0..sub.num_blocks() {
                let len = sub.block_len(b);
                if len > 0 { prop_assert_eq!(a.block_of(off), a.block_of(off + len - 1)); }
                off += len;
            }
        }
    }
}
