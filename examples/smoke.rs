use chunkwise::{s, Array, SliceArg};
fn main() {
    let x = Array::arange(0.0, 20.0, 1.0, 3).unwrap();
    let y = (&x * 2 + 1).astype(chunkwise::DType::F64).unwrap();
    println!("{:?}", y.compute::<f64>().unwrap());
    println!("sum {:?}", x.sum(None, false).unwrap().compute::<i64>().unwrap());
    println!("mean {:?}", x.mean(None, false).unwrap().compute::<f64>().unwrap());
    println!("var {:?}", x.var(None, false, 0).unwrap().compute::<f64>().unwrap());
    println!("argmax {:?}", x.argmax(None).unwrap().compute::<i64>().unwrap());
    let z = x.slice(&[SliceArg::Range { start: Some(-2), stop: None, step: Some(-3) }]).unwrap();
    println!("slice {:?}", z.compute::<i64>().unwrap());
    let m = Array::random_uniform(&[7, 5], &[3, 2], 1).unwrap();
    let mm = m.matmul(&m.t().unwrap()).unwrap();
    let mme = {
        let a = m.compute::<f64>().unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
        a.dot(&a.t())
    };
    let got = mm.compute::<f64>().unwrap().into_dimensionality::<ndarray::Ix2>().unwrap();
    println!("matmul diff {}", (&got - &mme).mapv(f64::abs).sum());
    let r = m.rechunk(&[2, 5]).unwrap().slice(&[s(1..6), s(-1)]).unwrap();
    println!("{:?}", r.compute::<f64>().unwrap());
    println!("{:?}", m.compute::<f64>().unwrap().index_axis(ndarray::Axis(1), 4));
    let c = Array::concatenate(&[x.clone(), x.clone()], 0).unwrap();
    println!("{:?}", c.sum(Some(&[0]), true).unwrap().compute::<i64>().unwrap());
    let st = Array::stack(&[m.clone(), m.clone()], 1).unwrap();
    println!("{:?}", st.shape());
    println!("min {:?}", m.min(Some(&[1]), false).unwrap().compute::<f64>().unwrap());
    let bad = &m + &x;
    println!("bad {:?}", bad.compute::<f64>().map(|_| ()));
}
