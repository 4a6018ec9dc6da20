//! Mean–variance portfolios under general constraints: a structured interior point of our own
//! (the `ipm` module), with Clarabel behind it for the problems that one cannot settle.
//!
//! The critical line algorithm is exact and fast but only knows per-asset bounds and the budget.
//! Practitioners also need sector limits, arbitrary linear constraints, a turnover budget or
//! proportional transaction costs against a current portfolio, L2 regularisation, and long-short
//! books with a gross-exposure limit. All of these keep the problem a convex QP:
//!
//! - variables x = [w | t (|w − w₀|, with turnover or costs) | u (|w|, with a leverage limit)];
//! - minimise wᵀΣw + γ‖w‖² + c·Σt (minimum variance, or at a target return), or −μᵀw + c·Σt
//!   (maximum return);
//! - maximum Sharpe uses the homogenised problem (Cornuéjols–Tütüncü): y = κw with κ ≥ 0,
//!   (μ − r_f)ᵀy = 1, minimise yᵀΣy, every constraint's right-hand side multiplied by κ. Costs and
//!   L2 terms do not survive that change of variables, so they are refused with max Sharpe (as in
//!   PyPortfolioOpt).
//!
//! The structured solver knows the shape (Σ dense on the weights, most rows on one asset) and is
//! 10–20× faster than Clarabel's general sparse KKT at 500 assets; it answers only when it has
//! converged to Clarabel's tolerances, and `crates/core/tests/qp_agreement.rs` holds it to
//! Clarabel's objective on random problems. Anything else — infeasible or unbounded problems,
//! numerical breakdowns — goes to Clarabel, whose certificates explain failures.
//!
//! Every constraint row carries a name. When Clarabel proves the problem infeasible, its Farkas
//! certificate (the dual ray z with Aᵀz = 0, bᵀz < 0) is non-zero exactly on a set of rows that
//! cannot hold together, so the error names those constraints instead of saying "infeasible".

use clarabel::algebra::CscMatrix;
use clarabel::solver::{
    DefaultSettingsBuilder, DefaultSolver, IPSolver, NonnegativeConeT, SolverStatus, ZeroConeT,
};
use faer::MatRef;

mod explain;
mod ipm;
use explain::{irreducible, summarise};

/// How a linear constraint compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// aᵀw ≤ b.
    AtMost,
    /// aᵀw ≥ b.
    AtLeast,
    /// aᵀw = b.
    Equal,
}

/// A named linear constraint on the weights.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearConstraint {
    /// How the user wrote it (reported when it conflicts).
    pub name: String,
    /// One coefficient per asset.
    pub coefficients: Vec<f64>,
    /// The comparison.
    pub relation: Relation,
    /// The right-hand side.
    pub bound: f64,
}

/// Everything beyond the budget that a constrained portfolio must respect.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Constraints {
    /// Per-asset lower bounds (may be negative for a long-short book).
    pub lower: Vec<f64>,
    /// Per-asset upper bounds.
    pub upper: Vec<f64>,
    /// Sector and user constraints.
    pub linear: Vec<LinearConstraint>,
    /// The portfolio held now (for turnover and costs).
    pub current: Option<Vec<f64>>,
    /// Σ|w − w₀| at most this.
    pub turnover: Option<f64>,
    /// Proportional cost per unit traded, charged in the objective (10 bps = 0.001).
    pub cost: f64,
    /// γ of the L2 regularisation γ‖w‖².
    pub l2: f64,
    /// Σ|w| at most this (gross exposure).
    pub leverage: Option<f64>,
    /// Asset names for messages ("asset k" when empty).
    pub names: Vec<String>,
}

impl Constraints {
    fn name(&self, i: usize) -> String {
        self.names
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("asset {}", i + 1))
    }

    /// Whether the critical line algorithm can solve it (long-only bounds and the budget only).
    pub fn is_bounds_only(&self) -> bool {
        self.linear.is_empty()
            && self.turnover.is_none()
            && self.cost == 0.0
            && self.l2 == 0.0
            && self.leverage.is_none()
            && self.lower.iter().all(|l| *l >= 0.0)
    }
}

/// What to optimise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Target {
    /// Least variance (plus regularisation and costs).
    MinVariance,
    /// Least variance at exactly this return.
    Return(f64),
    /// Highest return (less costs).
    MaxReturn,
    /// Highest Sharpe ratio at this risk-free rate.
    MaxSharpe(f64),
}

/// A solved constrained portfolio.
#[derive(Debug, Clone)]
pub struct Solved {
    /// Weights.
    pub weights: Vec<f64>,
    /// Σ|w − w₀|, when a current portfolio was given.
    pub turnover: Option<f64>,
    /// The solver's status.
    pub status: String,
    /// Which solver answered: the structured interior point, or Clarabel when that one could not
    /// settle the problem.
    pub solver: &'static str,
}

/// The names [`Solved::solver`] takes.
pub const DENSE_SOLVER: &str = "interior point (dense QP)";
/// Clarabel's name in [`Solved::solver`].
pub const CLARABEL: &str = "clarabel (QP)";

/// Why a constrained portfolio has no solution.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConstrainedError {
    /// The constraints cannot all hold; the names are those of the rows in Clarabel's proof.
    #[error("these constraints cannot all hold together: {}; relax one of them", conflicting.join("; "))]
    Infeasible {
        /// The conflicting constraints.
        conflicting: Vec<String>,
    },
    /// Maximum Sharpe with no attainable return above the risk-free rate.
    #[error(
        "no portfolio these constraints allow earns more than the risk-free rate {risk_free:.4} (the highest expected return is {best:.4}), so the maximum Sharpe ratio is undefined; use minimum variance, a target return, or a lower --risk-free"
    )]
    NothingBeatsRiskFree {
        /// The risk-free rate.
        risk_free: f64,
        /// The highest attainable return.
        best: f64,
    },
    /// An option that does not combine with the goal or is malformed.
    #[error("{0}")]
    Invalid(String),
    /// The solver stopped without an answer.
    #[error("the QP solver (Clarabel) stopped with status {0}; the covariance may be badly scaled")]
    Solver(String),
}

/// One row of Ax (≤ or =) b, with its name.
struct Row {
    name: String,
    entries: Vec<(usize, f64)>,
    rhs: f64,
    equality: bool,
}

struct Layout {
    n: usize,
    turnover_vars: bool,
    leverage_vars: bool,
    homogeneous: bool,
}

impl Layout {
    fn t(&self, i: usize) -> usize {
        self.n + i
    }
    fn u(&self, i: usize) -> usize {
        self.n + if self.turnover_vars { self.n } else { 0 } + i
    }
    fn kappa(&self) -> usize {
        self.n * (1 + usize::from(self.turnover_vars) + usize::from(self.leverage_vars))
    }
    fn columns(&self) -> usize {
        self.kappa() + usize::from(self.homogeneous)
    }
}

/// Builds the rows; in the homogeneous (max-Sharpe) form every right-hand side b becomes b·κ.
fn rows(c: &Constraints, mean: &[f64], target: Target, layout: &Layout) -> Vec<Row> {
    let n = layout.n;
    let mut out: Vec<Row> = Vec::new();
    let mut push = |name: String, mut entries: Vec<(usize, f64)>, rhs: f64, equality: bool| {
        if layout.homogeneous {
            if rhs != 0.0 {
                entries.push((layout.kappa(), -rhs));
            }
            out.push(Row {
                name,
                entries,
                rhs: 0.0,
                equality,
            });
        } else {
            out.push(Row {
                name,
                entries,
                rhs,
                equality,
            });
        }
    };
    let all: Vec<(usize, f64)> = (0..n).map(|i| (i, 1.0)).collect();
    push("the budget (weights sum to 1)".into(), all, 1.0, true);
    // With every weight at least 0 and the budget, w ≤ 1 holds already: those rows only cost.
    let long_only = c.lower.iter().all(|l| *l >= 0.0);
    for (i, (&lo, &hi)) in c.lower.iter().zip(&c.upper).enumerate() {
        push(
            format!("{} ≥ {lo} (--min-weight)", c.name(i)),
            vec![(i, -1.0)],
            -lo,
            false,
        );
        if long_only && hi >= 1.0 {
            continue;
        }
        push(
            format!("{} ≤ {hi} (--max-weight)", c.name(i)),
            vec![(i, 1.0)],
            hi,
            false,
        );
    }
    for l in &c.linear {
        let entries: Vec<(usize, f64)> = l
            .coefficients
            .iter()
            .enumerate()
            .filter(|(_, v)| **v != 0.0)
            .map(|(i, v)| (i, *v))
            .collect();
        match l.relation {
            Relation::AtMost => push(l.name.clone(), entries, l.bound, false),
            Relation::AtLeast => push(
                l.name.clone(),
                entries.iter().map(|(i, v)| (*i, -v)).collect(),
                -l.bound,
                false,
            ),
            Relation::Equal => push(l.name.clone(), entries, l.bound, true),
        }
    }
    if layout.turnover_vars {
        let current = c.current.clone().unwrap_or_else(|| vec![0.0; n]);
        for (i, w0) in current.iter().enumerate() {
            // t ≥ w − w₀ and t ≥ w₀ − w.
            push(
                format!("the trade in {}", c.name(i)),
                vec![(i, 1.0), (layout.t(i), -1.0)],
                *w0,
                false,
            );
            push(
                format!("the trade in {}", c.name(i)),
                vec![(i, -1.0), (layout.t(i), -1.0)],
                -w0,
                false,
            );
        }
        if let Some(limit) = c.turnover {
            let entries = (0..n).map(|i| (layout.t(i), 1.0)).collect();
            push(
                format!("turnover ≤ {limit} (--turnover)"),
                entries,
                limit,
                false,
            );
        }
    }
    if layout.leverage_vars {
        for i in 0..n {
            push(
                format!("the gross exposure of {}", c.name(i)),
                vec![(i, 1.0), (layout.u(i), -1.0)],
                0.0,
                false,
            );
            push(
                format!("the gross exposure of {}", c.name(i)),
                vec![(i, -1.0), (layout.u(i), -1.0)],
                0.0,
                false,
            );
        }
        let limit = c.leverage.unwrap_or(f64::INFINITY);
        let entries = (0..n).map(|i| (layout.u(i), 1.0)).collect();
        push(
            format!("gross exposure ≤ {limit} (--leverage)"),
            entries,
            limit,
            false,
        );
    }
    match target {
        Target::Return(r) => push(
            format!("expected return = {r} (--target)"),
            mean.iter().enumerate().map(|(i, m)| (i, *m)).collect(),
            r,
            true,
        ),
        Target::MaxSharpe(rf) => {
            // (μ − r_f)ᵀy = 1 is not homogeneous: added directly, and κ ≥ 0.
            out.push(Row {
                name: "excess return normalisation".into(),
                entries: mean.iter().enumerate().map(|(i, m)| (i, m - rf)).collect(),
                rhs: 1.0,
                equality: true,
            });
            out.push(Row {
                name: "κ ≥ 0".into(),
                entries: vec![(layout.kappa(), -1.0)],
                rhs: 0.0,
                equality: false,
            });
        }
        _ => {}
    }
    out
}

/// Which QP solver runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QpSolver {
    /// The structured interior point, with Clarabel for what it cannot settle.
    Auto,
    /// Clarabel alone (the reference the structured solver is checked against).
    Clarabel,
}

/// Solves one constrained portfolio.
pub fn solve(
    mean: &[f64],
    cov: MatRef<'_, f64>,
    constraints: &Constraints,
    target: Target,
) -> Result<Solved, ConstrainedError> {
    solve_with(mean, cov, constraints, target, QpSolver::Auto)
}

/// Solves one constrained portfolio with the chosen solver.
pub fn solve_with(
    mean: &[f64],
    cov: MatRef<'_, f64>,
    constraints: &Constraints,
    target: Target,
    solver: QpSolver,
) -> Result<Solved, ConstrainedError> {
    let n = mean.len();
    if n == 0 || cov.nrows() != n || constraints.lower.len() != n || constraints.upper.len() != n {
        return Err(ConstrainedError::Invalid(
            "the expected returns, covariance and bounds disagree in size".into(),
        ));
    }
    let homogeneous = matches!(target, Target::MaxSharpe(_));
    if homogeneous && (constraints.cost > 0.0 || constraints.l2 > 0.0) {
        return Err(ConstrainedError::Invalid(
            "--cost and --l2 change the objective, so they cannot be combined with --sharpe (the Sharpe ratio is maximised by a change of variables that only preserves linear constraints); use minimum variance or --target".into(),
        ));
    }
    if let Target::MaxSharpe(rf) = target {
        let best = solve_with(mean, cov, constraints, Target::MaxReturn, solver)?;
        let best_return: f64 = best.weights.iter().zip(mean).map(|(w, m)| w * m).sum();
        if best_return <= rf + 1e-12 * rf.abs().max(1.0) {
            return Err(ConstrainedError::NothingBeatsRiskFree {
                risk_free: rf,
                best: best_return,
            });
        }
    }
    let layout = Layout {
        n,
        turnover_vars: constraints.turnover.is_some() || constraints.cost > 0.0,
        leverage_vars: constraints.leverage.is_some(),
        homogeneous,
    };
    let all = rows(constraints, mean, target, &layout);
    let columns = layout.columns();
    // Objective.
    let mut q = vec![0.0; columns];
    let quadratic = !matches!(target, Target::MaxReturn) || constraints.l2 > 0.0;
    if let Target::MaxReturn = target {
        for i in 0..n {
            q[i] = -mean[i];
        }
    }
    if layout.turnover_vars {
        for i in 0..n {
            q[layout.t(i)] = constraints.cost;
        }
    }
    let p = quadratic.then(|| {
        let variance = if matches!(target, Target::MaxReturn) {
            0.0
        } else {
            2.0
        };
        faer::Mat::from_fn(n, n, |i, j| {
            variance * cov[(i, j)] + if i == j { 2.0 * constraints.l2 } else { 0.0 }
        })
    });
    let shape = ipm::Shape {
        n,
        slots: 1 + usize::from(layout.turnover_vars) + usize::from(layout.leverage_vars),
        globals: usize::from(homogeneous),
    };
    if solver == QpSolver::Auto
        && let Some(x) = ipm::solve(&shape, p.as_ref().map(|p| p.as_ref()), &q, &all)
    {
        return finish(&x, constraints, &layout, "solved".into(), DENSE_SOLVER);
    }
    let mut p_columns: Vec<Vec<(usize, f64)>> = vec![Vec::new(); columns];
    if let Some(p) = &p {
        for j in 0..n {
            for i in 0..=j {
                if p[(i, j)] != 0.0 {
                    p_columns[j].push((i, p[(i, j)]));
                }
            }
        }
    }
    let run = run(&all, columns, &p_columns, &q)?;
    let status = run.status;
    match status {
        SolverStatus::Solved | SolverStatus::AlmostSolved => {}
        SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible => {
            let largest = run.z.iter().map(|v| v.abs()).fold(0.0, f64::max);
            let mut certificate: Vec<String> = Vec::new();
            for (r, row) in run.rows.iter().enumerate() {
                if run.z[r].abs() > 1e-6 * largest && !certificate.contains(&row.name) {
                    certificate.push(row.name.clone());
                }
            }
            let conflicting = summarise(irreducible(&all, columns, certificate)?);
            return Err(ConstrainedError::Infeasible { conflicting });
        }
        other => return Err(ConstrainedError::Solver(format!("{other:?}"))),
    }
    let status = format!("{status:?}").to_lowercase();
    finish(&run.x, constraints, &layout, status, CLARABEL)
}

/// The weights of a solution (κ divided out of the homogeneous form).
fn finish(
    x: &[f64],
    constraints: &Constraints,
    layout: &Layout,
    status: String,
    solver: &'static str,
) -> Result<Solved, ConstrainedError> {
    let n = layout.n;
    let scale = if layout.homogeneous {
        x[layout.kappa()]
    } else {
        1.0
    };
    if !(scale.is_finite() && scale > 0.0) {
        return Err(ConstrainedError::Solver(format!(
            "{status} with κ = {scale}"
        )));
    }
    let weights: Vec<f64> = (0..n).map(|i| x[i] / scale).collect();
    let turnover = constraints.current.as_ref().map(|current| {
        weights
            .iter()
            .zip(current)
            .map(|(w, w0)| (w - w0).abs())
            .sum()
    });
    Ok(Solved {
        weights,
        turnover,
        status,
        solver,
    })
}

/// One Clarabel solve of rows (any order) with objective ½xᵀPx + qᵀx.
struct Run {
    status: SolverStatus,
    x: Vec<f64>,
    z: Vec<f64>,
    /// The rows in the order the solver saw them (equalities first).
    rows: Vec<Row>,
}

fn run(
    rows: &[Row],
    columns: usize,
    p_columns: &[Vec<(usize, f64)>],
    q: &[f64],
) -> Result<Run, ConstrainedError> {
    // Equalities first (the zero cone), then inequalities (the non-negative cone).
    let mut ordered: Vec<Row> = rows
        .iter()
        .map(|r| Row {
            name: r.name.clone(),
            entries: r.entries.clone(),
            rhs: r.rhs,
            equality: r.equality,
        })
        .collect();
    ordered.sort_by_key(|r| !r.equality);
    let equalities = ordered.iter().filter(|r| r.equality).count();
    let mut by_column: Vec<Vec<(usize, f64)>> = vec![Vec::new(); columns];
    for (r, row) in ordered.iter().enumerate() {
        for &(j, v) in &row.entries {
            by_column[j].push((r, v));
        }
    }
    let a = csc(ordered.len(), &by_column);
    let b: Vec<f64> = ordered.iter().map(|r| r.rhs).collect();
    let p = csc(columns, p_columns);
    let cones = [
        ZeroConeT(equalities),
        NonnegativeConeT(ordered.len() - equalities),
    ];
    let settings = DefaultSettingsBuilder::default()
        .verbose(false)
        // The covariance block is dense: faer's supernodal LDL factors it 3.5–5× faster than
        // the default QDLDL (measured at 500 assets).
        .direct_solve_method("faer".into())
        .tol_gap_abs(1e-10)
        .tol_gap_rel(1e-10)
        .tol_feas(1e-10)
        .build()
        .map_err(|e| ConstrainedError::Solver(format!("{e:?}")))?;
    let mut solver = DefaultSolver::new(&p, q, &a, &b, &cones, settings)
        .map_err(|e| ConstrainedError::Solver(format!("{e:?}")))?;
    solver.solve();
    Ok(Run {
        status: solver.solution.status,
        x: solver.solution.x.clone(),
        z: solver.solution.z.clone(),
        rows: ordered,
    })
}

fn csc(rows: usize, columns: &[Vec<(usize, f64)>]) -> CscMatrix<f64> {
    let mut colptr = Vec::with_capacity(columns.len() + 1);
    let mut rowval = Vec::new();
    let mut nzval = Vec::new();
    colptr.push(0);
    for column in columns {
        let mut sorted = column.clone();
        sorted.sort_by_key(|(r, _)| *r);
        for (r, v) in sorted {
            rowval.push(r);
            nzval.push(v);
        }
        colptr.push(rowval.len());
    }
    CscMatrix::new(rows, columns.len(), colptr, rowval, nzval)
}

#[cfg(test)]
mod tests;
