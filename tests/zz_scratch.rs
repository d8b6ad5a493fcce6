use chunkwise::{s, Array, SliceArg};
#[test]
fn scratch() {
    let x = Array::arange(0.0, 5.0, 1.0, 2).unwrap();
    println!("{:?}", x.slice(&[s(2..2)]).unwrap().compute::<i64>());
    println!("{:?}", x.slice(&[s(4..2)]).unwrap().sum(None, false).unwrap().compute::<i64>());
    let e = Array::zeros(&[0, 3], &[1, 1], chunkwise::DType::F64).unwrap();
    println!("{:?}", e.slice(&[s(..), s(1)]).unwrap().compute::<f64>());
    println!("{:?}", e.slice(&[SliceArg::NewAxis]).unwrap().compute::<f64>());
    println!("{:?}", (&e + 1.0).compute::<f64>());
}
