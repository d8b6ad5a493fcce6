//! Snapshots of [`crate::blockwise_fusion`].

use crate::testing::{arrays, assert_documented, before_after, random, with_scalar, x_plus_xt};
use chunkwise_ir::program::BinaryOp::{Add, Div, Mul, Sub};

#[test]
fn a_linear_chain_is_one_layer() {
    let x = random(&[100], &[10], 1);
    let linear = with_scalar(
        &with_scalar(&with_scalar(&with_scalar(&x, Add, 1.0), Mul, 2.0), Sub, 3.0),
        Div,
        4.0,
    );
    insta::assert_snapshot!(
        "blockwise_fusion_linear",
        before_after("blockwise-fusion", &[linear])
    );
}

#[test]
fn a_diamond_is_one_layer() {
    let a = with_scalar(&random(&[100], &[10], 1), Add, 1.0);
    let diamond = arrays(&with_scalar(&a, Mul, 2.0), Add, &with_scalar(&a, Mul, 3.0));
    let text = before_after("blockwise-fusion", &[diamond]);
    insta::assert_snapshot!("blockwise_fusion_diamond", text);
    assert_documented(include_str!("blockwise_fusion.rs"), &text);
}

#[test]
fn a_transpose_stays_an_input() {
    insta::assert_snapshot!(
        "blockwise_fusion_x_plus_xt",
        before_after("blockwise-fusion", &[x_plus_xt()])
    );
}
