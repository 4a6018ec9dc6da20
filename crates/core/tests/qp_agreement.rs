//! The structured interior point against Clarabel on seeded random constrained portfolios: the
//! same objective (to 1e-8 relative), weights that satisfy every constraint (to 1e-8), the same
//! errors, and the structured solver answering nearly everything itself (a fallback that ran
//! every time would make the comparison empty).

use faer::Mat;
use stratus_core::constrained::{
    Constraints, DENSE_SOLVER, LinearConstraint, QpSolver, Relation, Solved, Target, solve_with,
};
use stratus_core::covariance::{Par, column_means, covariance_matrix};
use stratus_core::synthetic::universe;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, k: usize) -> usize {
        (self.next() * k as f64) as usize
    }
}

fn objective(w: &[f64], mean: &[f64], cov: &Mat<f64>, c: &Constraints, target: Target) -> f64 {
    let n = w.len();
    let variance: f64 = (0..n)
        .map(|i| (0..n).map(|j| w[i] * cov[(i, j)] * w[j]).sum::<f64>())
        .sum();
    let ret: f64 = w.iter().zip(mean).map(|(a, b)| a * b).sum();
    let traded: f64 = c
        .current
        .as_ref()
        .map_or(0.0, |w0| w.iter().zip(w0).map(|(a, b)| (a - b).abs()).sum());
    let l2: f64 = c.l2 * w.iter().map(|v| v * v).sum::<f64>();
    match target {
        Target::MinVariance | Target::Return(_) => variance + l2 + c.cost * traded,
        Target::MaxReturn => -ret + l2 + c.cost * traded,
        Target::MaxSharpe(rf) => -(ret - rf) / variance.sqrt(),
    }
}

fn violation(w: &[f64], mean: &[f64], c: &Constraints, target: Target) -> f64 {
    let mut worst = (w.iter().sum::<f64>() - 1.0).abs();
    for (i, v) in w.iter().enumerate() {
        worst = worst.max(c.lower[i] - v).max(v - c.upper[i]);
    }
    for l in &c.linear {
        let lhs: f64 = l.coefficients.iter().zip(w).map(|(a, b)| a * b).sum();
        worst = worst.max(match l.relation {
            Relation::AtMost => lhs - l.bound,
            Relation::AtLeast => l.bound - lhs,
            Relation::Equal => (lhs - l.bound).abs(),
        });
    }
    if let (Some(limit), Some(w0)) = (c.turnover, &c.current) {
        let traded: f64 = w.iter().zip(w0).map(|(a, b)| (a - b).abs()).sum();
        worst = worst.max(traded - limit);
    }
    if let Some(limit) = c.leverage {
        worst = worst.max(w.iter().map(|v| v.abs()).sum::<f64>() - limit);
    }
    if let Target::Return(r) = target {
        let ret: f64 = w.iter().zip(mean).map(|(a, b)| a * b).sum();
        worst = worst.max((ret - r).abs());
    }
    worst
}

fn problem(seed: u64) -> (Vec<f64>, Mat<f64>, Constraints, Target) {
    let mut rng = Rng(seed);
    let n = 3 + rng.below(28);
    let returns = universe(seed, n, 3 * n + 40, 3).log_returns;
    let cov = covariance_matrix(returns.as_ref(), 252.0, Par::Seq);
    let mean: Vec<f64> = column_means(returns.as_ref())
        .iter()
        .map(|m| 252.0 * m + 0.1 * (rng.next() - 0.3))
        .collect();
    let long_short = rng.next() < 0.3;
    let cap = (1.5 / n as f64).max(0.1 + 0.9 * rng.next());
    let mut c = Constraints {
        lower: vec![if long_short { -0.5 } else { 0.0 }; n],
        upper: vec![cap; n],
        leverage: long_short.then(|| 1.2 + 2.0 * rng.next()),
        ..Constraints::default()
    };
    for k in 0..rng.below(4) {
        let members: Vec<f64> = (0..n)
            .map(|_| if rng.next() < 0.4 { 1.0 } else { 0.0 })
            .collect();
        let (relation, bound) = if rng.next() < 0.7 {
            (Relation::AtMost, 0.2 + 0.6 * rng.next())
        } else {
            (Relation::AtLeast, 0.05 + 0.2 * rng.next())
        };
        c.linear.push(LinearConstraint {
            name: format!("sector {k}"),
            coefficients: members,
            relation,
            bound,
        });
    }
    let target = match rng.below(4) {
        0 => Target::MinVariance,
        1 => Target::Return(0.0),
        2 => Target::MaxReturn,
        _ => Target::MaxSharpe(0.01),
    };
    if rng.next() < 0.5 {
        let raw: Vec<f64> = (0..n).map(|_| rng.next()).collect();
        let total: f64 = raw.iter().sum();
        c.current = Some(raw.iter().map(|v| v / total).collect());
        if rng.next() < 0.6 {
            c.turnover = Some(0.2 + 0.8 * rng.next());
        }
        if !matches!(target, Target::MaxSharpe(_)) && rng.next() < 0.5 {
            c.cost = 0.01 * rng.next();
        }
    }
    if !matches!(target, Target::MaxSharpe(_)) && rng.next() < 0.3 {
        c.l2 = 0.5 * rng.next();
    }
    (mean, cov, c, target)
}

#[test]
fn the_structured_solver_agrees_with_clarabel() {
    let (mut agreed, mut dense, mut errors) = (0, 0, 0);
    for seed in 0..160u64 {
        let (mean, cov, c, mut target) = problem(seed);
        if let Target::Return(_) = target {
            // Halfway between the least-variance and the highest-return portfolios' returns.
            let ret = |s: Solved| s.weights.iter().zip(&mean).map(|(a, b)| a * b).sum::<f64>();
            let (Ok(low), Ok(high)) = (
                solve_with(
                    &mean,
                    cov.as_ref(),
                    &c,
                    Target::MinVariance,
                    QpSolver::Clarabel,
                ),
                solve_with(
                    &mean,
                    cov.as_ref(),
                    &c,
                    Target::MaxReturn,
                    QpSolver::Clarabel,
                ),
            ) else {
                continue;
            };
            target = Target::Return(0.5 * (ret(low) + ret(high)));
        }
        let auto = solve_with(&mean, cov.as_ref(), &c, target, QpSolver::Auto);
        let reference = solve_with(&mean, cov.as_ref(), &c, target, QpSolver::Clarabel);
        match (auto, reference) {
            (Ok(a), Ok(r)) => {
                let (fa, fr) = (
                    objective(&a.weights, &mean, &cov, &c, target),
                    objective(&r.weights, &mean, &cov, &c, target),
                );
                assert!(
                    fa <= fr + 1e-8 * (1.0 + fr.abs()),
                    "seed {seed}: {target:?} objective {fa} against Clarabel's {fr}"
                );
                let v = violation(&a.weights, &mean, &c, target);
                assert!(v <= 1e-8, "seed {seed}: a constraint is off by {v}");
                // Clarabel's own answer is only as good as its 1e-10 tolerances.
                assert!(
                    fr <= fa + 1e-6 * (1.0 + fr.abs()),
                    "seed {seed}: {fa} is far better than Clarabel's {fr}: is a constraint missing?"
                );
                agreed += 1;
                dense += usize::from(a.solver == DENSE_SOLVER);
            }
            (Err(a), Err(r)) => {
                assert_eq!(
                    std::mem::discriminant(&a),
                    std::mem::discriminant(&r),
                    "seed {seed}: {a} against {r}"
                );
                errors += 1;
            }
            (a, r) => panic!("seed {seed}: {target:?} gave {a:?} against Clarabel's {r:?}"),
        }
    }
    assert!(agreed >= 100, "only {agreed} solved ({errors} errors)");
    assert!(
        dense * 100 >= agreed * 90,
        "the structured solver answered {dense} of {agreed}"
    );
}
