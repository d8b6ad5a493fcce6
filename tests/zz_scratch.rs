use chunkwise::{s, Array, SliceArg};
#[test]
fn scratch() {
    let rev = [SliceArg::Range {
        start: None,
        stop: None,
        step: Some(-1),
    }];
    let x = Array::arange(0.0, 4.0, 1.0, 4).unwrap();
    println!(
        "rev+0: {:?}",
        (x.slice(&rev).unwrap() + 0)
            .compute::<i64>()
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
    );
    let x = Array::arange(0.0, 5.0, 1.0, 2).unwrap();
    println!("{:?}", x.slice(&[s(2..2)]).unwrap().compute::<i64>());
}
