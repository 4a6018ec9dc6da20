//! The constrained QP on small problems whose answers are known.

use super::*;
use faer::Mat;

fn three() -> (Vec<f64>, Mat<f64>) {
    let sd = [0.1, 0.2, 0.3];
    let rho = [[1.0, 0.3, 0.1], [0.3, 1.0, 0.5], [0.1, 0.5, 1.0]];
    (
        vec![0.05, 0.08, 0.12],
        Mat::from_fn(3, 3, |i, j| sd[i] * sd[j] * rho[i][j]),
    )
}

fn long_only(n: usize) -> Constraints {
    Constraints {
        lower: vec![0.0; n],
        upper: vec![1.0; n],
        ..Constraints::default()
    }
}

#[test]
fn a_sector_cap_binds() {
    let (mu, cov) = three();
    let mut c = long_only(3);
    c.linear.push(LinearConstraint {
        name: "sector A ≤ 0.5".into(),
        coefficients: vec![1.0, 0.0, 0.0],
        relation: Relation::AtMost,
        bound: 0.5,
    });
    let s = solve(&mu, cov.as_ref(), &c, Target::MinVariance).unwrap();
    assert_eq!(s.solver, DENSE_SOLVER);
    assert!((s.weights[0] - 0.5).abs() < 1e-7, "{:?}", s.weights);
    assert!((s.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn conflicting_constraints_are_named() {
    let (mu, cov) = three();
    let mut c = long_only(3);
    c.upper = vec![0.3; 3];
    let err = solve(&mu, cov.as_ref(), &c, Target::MinVariance).unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("budget") && text.contains("--max-weight"),
        "{text}"
    );
}

#[test]
fn the_conflict_named_is_irreducible() {
    // Health (assets 1–5) ≥ 0.6, assets 1–3 ≤ 0.2 together, assets 4 and 5 ≤ 0.1 each.
    let n = 6;
    let cov = Mat::from_fn(n, n, |i, j| if i == j { 0.04 } else { 0.01 });
    let mut c = long_only(n);
    c.upper = vec![0.1, 0.1, 0.1, 0.1, 0.1, 1.0];
    c.linear.push(LinearConstraint {
        name: "health ≥ 0.6".into(),
        coefficients: vec![1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        relation: Relation::AtLeast,
        bound: 0.6,
    });
    c.linear.push(LinearConstraint {
        name: "abc ≤ 0.2".into(),
        coefficients: vec![1.0, 1.0, 1.0, 0.0, 0.0, 0.0],
        relation: Relation::AtMost,
        bound: 0.2,
    });
    let Err(ConstrainedError::Infeasible { conflicting }) =
        solve(&vec![0.1; n], cov.as_ref(), &c, Target::MinVariance)
    else {
        panic!("infeasible");
    };
    assert_eq!(
        conflicting,
        vec![
            "asset 4 ≤ 0.1 (--max-weight)",
            "asset 5 ≤ 0.1 (--max-weight)",
            "health ≥ 0.6",
            "abc ≤ 0.2"
        ]
    );
}

#[test]
fn max_sharpe_needs_a_return_above_the_risk_free_rate() {
    let (mu, cov) = three();
    let c = long_only(3);
    assert!(matches!(
        solve(&mu, cov.as_ref(), &c, Target::MaxSharpe(0.2)),
        Err(ConstrainedError::NothingBeatsRiskFree { .. })
    ));
    let s = solve(&mu, cov.as_ref(), &c, Target::MaxSharpe(0.02)).unwrap();
    assert_eq!(s.solver, DENSE_SOLVER);
    assert!((s.weights.iter().sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn turnover_is_respected_and_costs_slow_trading() {
    let (mu, cov) = three();
    let mut c = long_only(3);
    c.current = Some(vec![0.0, 0.0, 1.0]);
    c.turnover = Some(0.4);
    let s = solve(&mu, cov.as_ref(), &c, Target::MinVariance).unwrap();
    assert_eq!(s.solver, DENSE_SOLVER);
    assert!(s.turnover.unwrap() <= 0.4 + 1e-8);
    let free = solve(&mu, cov.as_ref(), &long_only(3), Target::MinVariance).unwrap();
    let mut costly = long_only(3);
    costly.current = Some(vec![0.0, 0.0, 1.0]);
    costly.cost = 0.05;
    let s = solve(&mu, cov.as_ref(), &costly, Target::MinVariance).unwrap();
    assert!(s.weights[2] > free.weights[2] + 1e-4);
}

#[test]
fn long_short_with_a_leverage_limit() {
    let (mu, cov) = three();
    let mut c = long_only(3);
    c.lower = vec![-1.0; 3];
    c.leverage = Some(1.5);
    let s = solve(&mu, cov.as_ref(), &c, Target::MaxReturn).unwrap();
    assert_eq!(s.solver, DENSE_SOLVER);
    let gross: f64 = s.weights.iter().map(|w| w.abs()).sum();
    assert!(gross <= 1.5 + 1e-8 && s.weights[0] < 0.0, "{:?}", s.weights);
}
