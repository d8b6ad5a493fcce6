//! Slice and rechunk kernels: an output block assembled from pieces of input blocks.

use crate::KernelError;
use chunkwise_ir::slice::Piece;
use chunkwise_ir::{with_array, DType, DynArray, Element, Scalar};
use ndarray::{ArrayD, ArrayViewMut, Axis, IxDyn, ShapeBuilder, Slice};
use std::any::Any;
use std::mem::MaybeUninit;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

fn piece_slice(p: &Piece) -> Slice {
    let n = (p.out.end - p.out.start) as isize;
    let s = p.in_start as isize;
    if p.step > 0 {
        Slice::new(s, Some(s + (n - 1) * p.step as isize + 1), p.step as isize)
    } else {
        Slice::new(s + (n - 1) * p.step as isize, Some(s + 1), p.step as isize)
    }
}

/// Assembles an output block. `pieces[ax]` lists, per input axis, the pieces along that
/// axis; `inputs` are the input blocks for the C-order product of the piece lists; `items`
/// tells which input axes are dropped (integer index) and where new axes go.
pub fn gather(
    pieces: &[Vec<Piece>],
    inputs: &[&DynArray],
    dtype: DType,
    out_shape_in_axes: &[usize],
    finish: impl Fn(DynArray) -> DynArray,
) -> Result<DynArray, KernelError> {
    let expected: usize = pieces.iter().map(Vec::len).product();
    if inputs.len() != expected {
        return Err(KernelError::BadInput(format!(
            "gather expects {expected} input blocks, got {}",
            inputs.len()
        )));
    }
    // An empty output block reads nothing.
    let Some(&first) = inputs.first() else {
        return Ok(finish(DynArray::full(
            dtype,
            out_shape_in_axes,
            Scalar::I64(0),
        )));
    };
    // One input: a (strided) view of it, no copy.
    if expected == 1 {
        return with_array!(first, a => {
            let mut v = a.clone();
            for (ax, p) in pieces.iter().enumerate() {
                v.slice_axis_inplace(Axis(ax), piece_slice(&p[0]));
            }
            Ok(finish(Element::wrap(v)))
        });
    }
    with_array!(first, a0 => {
        let mut out = ArrayD::from_elem(IxDyn(out_shape_in_axes), a0.first().copied().unwrap_or_default());
        let mut idx = vec![0usize; pieces.len()];
        for input in inputs.iter() {
            let src = Element::unwrap_ref(input).ok_or_else(|| {
                KernelError::BadInput("gather inputs differ in dtype".into())
            })?;
            let mut s = src.view();
            let mut d = out.view_mut();
            for (ax, p) in pieces.iter().enumerate() {
                let pc = &p[idx[ax]];
                s.slice_axis_inplace(Axis(ax), piece_slice(pc));
                d.slice_axis_inplace(Axis(ax), Slice::from(pc.out.start as usize..pc.out.end as usize));
            }
            if s.shape() != d.shape() {
                return Err(KernelError::BadInput(format!(
                    "gather piece of shape {:?} does not fit {:?}",
                    s.shape(),
                    d.shape()
                )));
            }
            d.assign(&s);
            // Next piece combination, C order.
            for ax in (0..pieces.len()).rev() {
                idx[ax] += 1;
                if idx[ax] < pieces[ax].len() {
                    break;
                }
                idx[ax] = 0;
            }
        }
        Ok(finish(Element::wrap(out.into_shared())))
    })
}

/// Joins the blocks of an array cut into `grid` (all blocks, C order) into one array.
pub fn assemble(
    grid: &chunkwise_ir::ChunkGrid,
    dtype: DType,
    blocks: Vec<DynArray>,
) -> Result<DynArray, KernelError> {
    if blocks.len() as u64 != grid.total_blocks() {
        return Err(KernelError::BadInput(format!(
            "{} blocks for a grid of {}",
            blocks.len(),
            grid.total_blocks()
        )));
    }
    if blocks.len() == 1 {
        return Ok(blocks.into_iter().next().expect("one block"));
    }
    let nb = grid.num_blocks();
    let shape: Vec<usize> = grid.shape().iter().map(|&s| s as usize).collect();
    let mut coords = vec![0u64; nb.len()];
    chunkwise_ir::with_dtype!(dtype, T => {
        let mut out = ArrayD::<T>::default(IxDyn(&shape));
        for (i, b) in blocks.iter().enumerate() {
            chunkwise_ir::grid::unravel_into(i as u64, &nb, &mut coords);
            let src = T::unwrap_ref(b).ok_or_else(|| {
                KernelError::BadInput(format!("a {} block in a {dtype} array", b.dtype()))
            })?;
            let mut view = out.view_mut();
            for (ax, r) in grid.block_ranges(&coords).iter().enumerate() {
                view.slice_axis_inplace(Axis(ax), Slice::from(r.start as usize..r.end as usize));
            }
            view.assign(src);
        }
        Ok(DynArray::new(out))
    })
}

/// An array assembled from its blocks as they are computed, from any thread: each block is
/// copied into its place once ([`Assembly::place`]) and may be dropped right after; the
/// whole array is taken when every block is in ([`Assembly::finish`]). Where [`assemble`]
/// needs every block and the array at once, this holds the array and the blocks in flight.
///
/// ```
/// use chunkwise_backends::cpu::gather::Assembly;
/// use chunkwise_ir::{ChunkGrid, DType, DynArray};
/// use ndarray::{array, ArrayD};
///
/// // A 2 x 3 array in blocks of 1 x 2: (0, 0), (0, 1), (1, 0), (1, 1) in C order.
/// let grid = ChunkGrid::regular(&[2, 3], &[1, 2]).unwrap();
/// let a = Assembly::new(&grid, DType::F64).unwrap();
/// let block = |v: Vec<f64>| DynArray::new(ArrayD::from_shape_vec(vec![1, v.len()], v).unwrap());
/// a.place(3, &block(vec![6.0])).unwrap();
/// a.place(0, &block(vec![1.0, 2.0])).unwrap();
/// a.place(2, &block(vec![4.0, 5.0])).unwrap();
/// assert!(a.place(0, &block(vec![1.0, 2.0])).is_err()); // each block once
/// a.place(1, &block(vec![3.0])).unwrap();
/// let whole = a.finish().unwrap();
/// assert_eq!(*whole.as_typed::<f64>().unwrap(), array![[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]].into_dyn());
/// ```
pub struct Assembly {
    grid: chunkwise_ir::ChunkGrid,
    dtype: DType,
    /// The array being filled: an `ArrayD<MaybeUninit<T>>` of `dtype`, C order, written only
    /// through `base` until [`Assembly::finish`].
    buffer: Box<dyn Any + Send + Sync>,
    /// Address of the first element of `buffer`.
    base: usize,
    /// Element strides of `buffer` (C order).
    strides: Vec<usize>,
    /// Per block (C order): it has been placed.
    placed: Vec<AtomicBool>,
    /// A one-block array keeps its block as is (no copy).
    single: Mutex<Option<DynArray>>,
}

impl Assembly {
    /// An array of `dtype` cut into `grid`, with no block placed yet. Its memory is
    /// allocated now (not touched), or refused with [`KernelError::OutOfMemory`].
    pub fn new(grid: &chunkwise_ir::ChunkGrid, dtype: DType) -> Result<Assembly, KernelError> {
        let shape: Vec<usize> = grid.shape().iter().map(|&s| s as usize).collect();
        let blocks = grid.total_blocks() as usize;
        let mut strides = vec![1usize; shape.len()];
        for ax in (0..shape.len().saturating_sub(1)).rev() {
            strides[ax] = strides[ax + 1] * shape[ax + 1].max(1);
        }
        let len: usize = if blocks == 1 {
            0
        } else {
            shape.iter().product()
        };
        let (buffer, base) = chunkwise_ir::with_dtype!(dtype, T => {
            let mut v: Vec<MaybeUninit<T>> = Vec::new();
            v.try_reserve_exact(len).map_err(|_| KernelError::OutOfMemory {
                what: "an assembled array",
                bytes: (len as u64).saturating_mul(dtype.size() as u64),
            })?;
            // SAFETY: the capacity is `len`, and `MaybeUninit` needs no initialisation.
            unsafe { v.set_len(len) };
            let shape = if blocks == 1 { vec![0] } else { shape.clone() };
            let mut a = ArrayD::from_shape_vec(IxDyn(&shape), v)
                .map_err(|e| KernelError::BadInput(format!("assembled array: {e}")))?;
            let base = a.as_mut_ptr() as usize;
            (Box::new(a) as Box<dyn Any + Send + Sync>, base)
        });
        Ok(Assembly {
            grid: grid.clone(),
            dtype,
            buffer,
            base,
            strides,
            placed: (0..blocks).map(|_| AtomicBool::new(false)).collect(),
            single: Mutex::new(None),
        })
    }

    /// Copies block `index` (C order over the grid's blocks) into place. Refuses an index
    /// out of range, a block of another dtype or shape, and a block placed before.
    pub fn place(&self, index: u64, block: &DynArray) -> Result<(), KernelError> {
        let nb = self.grid.num_blocks();
        if index >= self.grid.total_blocks() {
            return Err(KernelError::BadInput(format!(
                "block {index} of a grid of {} blocks",
                self.grid.total_blocks()
            )));
        }
        let mut coords = vec![0u64; nb.len()];
        chunkwise_ir::grid::unravel_into(index, &nb, &mut coords);
        let ranges = self.grid.block_ranges(&coords);
        let shape: Vec<usize> = ranges.iter().map(|r| (r.end - r.start) as usize).collect();
        if block.dtype() != self.dtype || block.shape() != shape.as_slice() {
            return Err(KernelError::BadInput(format!(
                "a {} block of shape {:?} for block {index} ({} of shape {shape:?})",
                block.dtype(),
                block.shape(),
                self.dtype
            )));
        }
        if self.placed[index as usize].swap(true, Ordering::AcqRel) {
            return Err(KernelError::BadInput(format!("block {index} placed twice")));
        }
        if self.placed.len() == 1 {
            *self.single.lock().unwrap_or_else(|e| e.into_inner()) = Some(block.clone());
            return Ok(());
        }
        if shape.contains(&0) {
            return Ok(());
        }
        let offset: usize = ranges
            .iter()
            .zip(&self.strides)
            .map(|(r, s)| r.start as usize * s)
            .sum();
        chunkwise_ir::with_dtype!(self.dtype, T => {
            let src = T::unwrap_ref(block).expect("dtype checked above");
            // SAFETY: `base + offset` with the array's strides addresses exactly the elements
            // of block `index` inside `buffer` (its ranges lie in the grid's shape). Blocks
            // of a grid are disjoint and each is written once (the `placed` flag, claimed
            // above), so no two views alias; nothing reads `buffer` before `finish`, which
            // takes the assembly by value.
            let mut dst = unsafe {
                ArrayViewMut::<T, IxDyn>::from_shape_ptr(
                    IxDyn(&shape).strides(IxDyn(&self.strides)),
                    (self.base as *mut T).add(offset),
                )
            };
            dst.assign(src);
        });
        Ok(())
    }

    /// The whole array, once every block has been placed.
    pub fn finish(self) -> Result<DynArray, KernelError> {
        if let Some(missing) = self.placed.iter().position(|p| !p.load(Ordering::Acquire)) {
            return Err(KernelError::BadInput(format!(
                "block {missing} of {} was never placed",
                self.placed.len()
            )));
        }
        if let Some(block) = self.single.into_inner().unwrap_or_else(|e| e.into_inner()) {
            return Ok(block);
        }
        chunkwise_ir::with_dtype!(self.dtype, T => {
            let a = self
                .buffer
                .downcast::<ArrayD<MaybeUninit<T>>>()
                .expect("the buffer is of the assembly's dtype");
            // SAFETY: every block was placed, and the blocks cover the array (of more than
            // one block: a one-block array returned its block above).
            Ok(DynArray::new(unsafe { a.assume_init() }))
        })
    }
}
