//! The estimators on small matrices: symmetric and PSD, repairs, refusals, constant series.

use super::*;

fn sample_returns() -> Mat<f64> {
    Mat::from_fn(50, 4, |t, j| {
        (((t * 7 + j * 13) % 17) as f64 / 10.0 - 0.8) * 0.01 + j as f64 * 1e-4
    })
}

#[test]
fn every_model_is_symmetric_and_psd() {
    let r = sample_returns();
    for model in [
        RiskModel::Sample,
        RiskModel::LedoitWolf,
        RiskModel::LedoitWolfConstantCorrelation,
        RiskModel::LedoitWolfSingleFactor,
        RiskModel::Oas,
        RiskModel::Exponential { span: 10.0 },
        RiskModel::Semi { benchmark: 0.0 },
    ] {
        let e = estimate_covariance(r.as_ref(), model, 252.0, Par::Seq).unwrap();
        assert!(e.repair.is_none(), "{model:?}");
        for i in 0..4 {
            assert!(e.matrix[(i, i)] >= 0.0);
            for j in 0..4 {
                assert_eq!(e.matrix[(i, j)], e.matrix[(j, i)]);
            }
        }
        if let Some(s) = e.shrinkage {
            assert!((0.0..=1.0).contains(&s), "{model:?} {s}");
        }
    }
}

#[test]
fn an_indefinite_matrix_is_repaired_to_the_nearest_psd() {
    let mut m = Mat::from_fn(3, 3, |i, j| match (i, j) {
        (i, j) if i == j => 1.0,
        (0, 1) | (1, 0) => 0.9,
        (1, 2) | (2, 1) => 0.9,
        _ => -0.9,
    });
    let repair = repair_psd(&mut m).expect("indefinite");
    assert!(repair.smallest_eigenvalue < 0.0 && repair.clipped == 1);
    assert!(repair_psd(&mut m.clone()).is_none());
    for i in 0..3 {
        for j in 0..3 {
            assert!((m[(i, j)] - m[(j, i)]).abs() < 1e-15);
        }
    }
}

#[test]
fn bad_parameters_and_inputs_are_refused() {
    let r = sample_returns();
    for model in [
        RiskModel::Exponential { span: 0.5 },
        RiskModel::Exponential { span: f64::NAN },
        RiskModel::Semi {
            benchmark: f64::INFINITY,
        },
    ] {
        assert!(estimate_covariance(r.as_ref(), model, 252.0, Par::Seq).is_err());
    }
    let mut bad = r.clone();
    bad[(3, 2)] = f64::NAN;
    assert!(estimate_covariance(bad.as_ref(), RiskModel::LedoitWolf, 1.0, Par::Seq).is_err());
    let one_day = Mat::<f64>::zeros(1, 3);
    assert!(estimate_covariance(one_day.as_ref(), RiskModel::Oas, 1.0, Par::Seq).is_err());
}

#[test]
fn constant_returns_do_not_divide_by_zero() {
    let flat = Mat::from_fn(20, 3, |_, j| j as f64 * 0.001);
    for model in [
        RiskModel::LedoitWolf,
        RiskModel::Oas,
        RiskModel::LedoitWolfSingleFactor,
    ] {
        let e = estimate_covariance(flat.as_ref(), model, 252.0, Par::Seq).unwrap();
        assert!(
            e.matrix
                .col_iter()
                .flat_map(|c| c.iter())
                .all(|v| v.is_finite())
        );
    }
}
