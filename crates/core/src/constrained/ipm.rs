//! A primal–dual interior-point method shaped like the portfolio QPs, tried before Clarabel.
//!
//! Clarabel sees the covariance as a sparse matrix that happens to be full and factors a
//! (2n + rows)-square KKT system with a general sparse LDL; at 500 assets that costs ~15 ms a
//! Newton step. The problems here have a fixed shape that allows much less work:
//!
//! - the Hessian is dense only on the weights (Σ, plus γI);
//! - most inequality rows touch one asset: its bounds, and the pairs t ≥ ±(w − w₀), u ≥ ±w that
//!   model trades and gross exposure. After the barrier those become a small block per asset, and
//!   eliminating the asset's auxiliary slots leaves a diagonal on the weights;
//! - the rest — the budget, sectors, user constraints, the turnover and exposure sums, and the
//!   homogenising κ of maximum Sharpe — are a handful of rows and columns.
//!
//! So each Newton step is one dense Cholesky of Σ + D (faer) plus a Schur complement of the
//! handful, and Mehrotra's predictor–corrector needs a dozen or two steps. Anything it cannot
//! settle (infeasible or unbounded problems, breakdowns) returns `None`, and the caller hands the
//! problem to Clarabel, whose certificates name the conflicting constraints.

use faer::MatRef;

use super::Row;

mod linear;
use linear::Factor;

/// Where the columns live: slot `s` of asset `i` is column `s·n + i` (slot 0 the weight), and the
/// `globals` after `slots·n` are shared (κ).
pub(super) struct Shape {
    pub(super) n: usize,
    pub(super) slots: usize,
    pub(super) globals: usize,
}

impl Shape {
    fn columns(&self) -> usize {
        self.slots * self.n + self.globals
    }
}

/// The convergence tolerance on the scaled residuals and the duality gap (Clarabel's, as run).
const TOLERANCE: f64 = 1e-10;
const MAX_ITERATIONS: usize = 80;
/// Rounds of iterative refinement per Newton direction.
const REFINEMENTS: usize = 8;
/// The static regularisation of the equality rows' block (keeps a dependent row from breaking
/// the small factorisation; the iterates still converge to the rows).
const EQUALITY_REGULARISATION: f64 = 1e-13;

struct Inequality {
    entries: Vec<(usize, f64)>,
    rhs: f64,
    reach: Reach,
}

/// Which columns an inequality row touches, which decides where its barrier term goes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// One asset's slots (and perhaps globals): into that asset's small block.
    Asset(usize),
    /// Globals only: into the small block.
    Global,
    /// Several assets: a row (and dual) of its own in the small block.
    Dense,
}

struct Equality {
    entries: Vec<(usize, f64)>,
    rhs: f64,
}

struct Solver<'a> {
    shape: &'a Shape,
    p: Option<MatRef<'a, f64>>,
    q: &'a [f64],
    ineq: Vec<Inequality>,
    eq: Vec<Equality>,
    /// Indices into `ineq` of the dense rows, in the order of the small block.
    dense: Vec<usize>,
    /// The local rows of each asset.
    by_asset: Vec<Vec<usize>>,
    /// Each local row's coefficients on its asset's weight and (at most one) auxiliary slot.
    cells: Vec<Cell>,
    /// Σⱼ |Pᵢⱼ| per weight (the Gershgorin radius that decides pinning).
    row_size: Vec<f64>,
}

#[derive(Clone, Copy)]
struct Cell {
    a: f64,
    aux: Option<usize>,
    c: f64,
}

/// Solves min ½wᵀPw + qᵀx over the rows (P acting on the weight slots only). `None` when the method
/// does not converge; the caller then runs Clarabel.
pub(super) fn solve(
    shape: &Shape,
    p: Option<MatRef<'_, f64>>,
    q: &[f64],
    rows: &[Row],
) -> Option<Vec<f64>> {
    if q.len() != shape.columns() || shape.slots > 3 {
        return None;
    }
    let mut ineq = Vec::new();
    let mut eq = Vec::new();
    for row in rows {
        // Rows scaled to a largest coefficient of 1.
        let scale = row.entries.iter().map(|(_, v)| v.abs()).fold(0.0, f64::max);
        if scale == 0.0 {
            // 0 = b or 0 ≤ b: nothing to do when it holds; when it does not, Clarabel explains.
            if (row.equality && row.rhs == 0.0) || (!row.equality && row.rhs >= 0.0) {
                continue;
            }
            return None;
        }
        if !scale.is_finite() {
            return None;
        }
        let entries: Vec<(usize, f64)> = row.entries.iter().map(|&(j, v)| (j, v / scale)).collect();
        let rhs = row.rhs / scale;
        if row.equality {
            eq.push(Equality { entries, rhs });
        } else {
            let mut reach = Reach::Global;
            for &(j, _) in entries.iter().filter(|(j, _)| *j < shape.slots * shape.n) {
                let i = j % shape.n;
                reach = match reach {
                    Reach::Global => Reach::Asset(i),
                    Reach::Asset(a) if a == i => reach,
                    _ => Reach::Dense,
                };
            }
            ineq.push(Inequality {
                entries,
                rhs,
                reach,
            });
        }
    }
    let dense = (0..ineq.len())
        .filter(|&r| ineq[r].reach == Reach::Dense)
        .collect();
    let mut by_asset = vec![Vec::new(); shape.n];
    let mut cells = Vec::with_capacity(ineq.len());
    for (r, row) in ineq.iter().enumerate() {
        let mut cell = Cell {
            a: 0.0,
            aux: None,
            c: 0.0,
        };
        if let Reach::Asset(i) = row.reach {
            by_asset[i].push(r);
            for &(j, v) in &row.entries {
                match j / shape.n {
                    0 => cell.a += v,
                    k if k < shape.slots => {
                        if cell.aux.is_some_and(|a| a != k - 1) {
                            return None;
                        }
                        cell.aux = Some(k - 1);
                        cell.c += v;
                    }
                    _ => {}
                }
            }
        }
        cells.push(cell);
    }
    let solver = Solver {
        shape,
        p,
        q,
        ineq,
        eq,
        dense,
        by_asset,
        cells,
        row_size: p.map_or_else(Vec::new, |p| {
            (0..shape.n)
                .map(|i| (0..shape.n).map(|j| p[(i, j)].abs()).sum())
                .collect()
        }),
    };
    solver.run()
}

fn dot(entries: &[(usize, f64)], x: &[f64]) -> f64 {
    entries.iter().map(|&(j, v)| v * x[j]).sum()
}

fn norm_inf(x: &[f64]) -> f64 {
    x.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// The largest step keeping v + α·dv ≥ 0 (infinite when dv ≥ 0).
fn max_step(v: &[f64], dv: &[f64]) -> f64 {
    v.iter()
        .zip(dv)
        .filter(|(_, d)| **d < 0.0)
        .fold(f64::INFINITY, |a, (v, d)| a.min(-v / d))
}

#[derive(Clone)]
struct Step {
    dx: Vec<f64>,
    dy: Vec<f64>,
    ds: Vec<f64>,
    dz: Vec<f64>,
}

impl Solver<'_> {
    fn columns(&self) -> usize {
        self.shape.columns()
    }

    fn locals(&self) -> usize {
        self.shape.slots * self.shape.n
    }

    fn small(&self) -> usize {
        self.shape.globals + self.eq.len() + self.dense.len()
    }

    /// P·x on the weight slots.
    fn hessian_times(&self, x: &[f64], out: &mut [f64]) {
        out.iter_mut().for_each(|v| *v = 0.0);
        if let Some(p) = self.p {
            let n = self.shape.n;
            let xw = faer::ColRef::from_slice(&x[..n]);
            let y = p * xw;
            for i in 0..n {
                out[i] = y[i];
            }
        }
    }

    /// One Newton direction for residuals (r_d, r_e, r_i) and complementarity target r_c.
    fn newton(
        &self,
        f: &Factor,
        state: (&[f64], &[f64]),
        residuals: (&[f64], &[f64], &[f64]),
        rc: &[f64],
    ) -> Step {
        let (s, z) = state;
        let (rd, re, ri) = residuals;
        let nl = self.locals();
        let globals = self.shape.globals;
        let mut rhs: Vec<f64> = rd.iter().map(|v| -v).collect();
        for (r, row) in self.ineq.iter().enumerate() {
            if row.reach != Reach::Dense {
                let scale = (rc[r] - z[r] * ri[r]) / s[r];
                for &(j, v) in &row.entries {
                    rhs[j] += v * scale;
                }
            }
        }
        let mut rs: Vec<f64> = rhs[nl..].to_vec();
        rs.extend(re.iter().map(|v| -v));
        rs.extend(self.dense.iter().map(|&r| -ri[r] + rc[r] / z[r]));
        let (xl, ys) = self.system_solve(f, &rhs[..nl], &rs);
        let mut dx = xl;
        dx.extend_from_slice(&ys[..globals]);
        let dy = ys[globals..globals + self.eq.len()].to_vec();
        let mut ds = vec![0.0; self.ineq.len()];
        let mut dz = vec![0.0; self.ineq.len()];
        for (r, row) in self.ineq.iter().enumerate() {
            ds[r] = -ri[r] - dot(&row.entries, &dx);
            dz[r] = (-rc[r] - z[r] * ds[r]) / s[r];
        }
        for (d, &r) in self.dense.iter().enumerate() {
            dz[r] = ys[globals + self.eq.len() + d];
        }
        Step { dx, dy, ds, dz }
    }

    /// A Newton direction with iterative refinement against the unreduced system (the barrier
    /// terms of nearly active rows span many orders of magnitude, so one solve loses digits).
    fn refined(
        &self,
        f: &Factor,
        state: (&[f64], &[f64]),
        residuals: (&[f64], &[f64], &[f64]),
        rc: &[f64],
    ) -> Step {
        let (s, z) = state;
        let (rd, re, ri) = residuals;
        let mut step = self.newton(f, state, residuals, rc);
        let mut px = vec![0.0; self.columns()];
        let mut best: Option<(f64, Step)> = None;
        for _ in 0..REFINEMENTS {
            // Each equation's shortfall, as the residual a correction must cancel.
            self.hessian_times(&step.dx, &mut px);
            let mut e1: Vec<f64> = px.iter().zip(rd).map(|(a, b)| a + b).collect();
            for (e, row) in self.eq.iter().enumerate() {
                for &(j, v) in &row.entries {
                    e1[j] += v * step.dy[e];
                }
            }
            let mut e3 = vec![0.0; self.ineq.len()];
            let mut e4 = vec![0.0; self.ineq.len()];
            for (r, row) in self.ineq.iter().enumerate() {
                for &(j, v) in &row.entries {
                    e1[j] += v * step.dz[r];
                }
                e3[r] = dot(&row.entries, &step.dx) + step.ds[r] + ri[r];
                e4[r] = z[r] * step.ds[r] + s[r] * step.dz[r] + rc[r];
            }
            let e2: Vec<f64> = self
                .eq
                .iter()
                .zip(re)
                .map(|(row, r)| dot(&row.entries, &step.dx) + r)
                .collect();
            let size = norm_inf(&e1)
                .max(norm_inf(&e2))
                .max(norm_inf(&e3))
                .max(norm_inf(&e4));
            if size.is_nan() || size <= 1e-15 * (1.0 + norm_inf(rd).max(norm_inf(rc))) {
                break;
            }
            if let Some((previous_size, previous)) = best.take()
                && size >= previous_size
            {
                // Refinement stalled: keep the better direction.
                step = previous;
                break;
            }
            // The direction solving A·c = −e, added.
            let correction = self.newton(f, state, (&e1, &e2, &e3), &e4);
            best = Some((size, step.clone()));
            for (v, d) in step.dx.iter_mut().zip(&correction.dx) {
                *v += d;
            }
            for (v, d) in step.dy.iter_mut().zip(&correction.dy) {
                *v += d;
            }
            for r in 0..self.ineq.len() {
                step.ds[r] += correction.ds[r];
                step.dz[r] += correction.dz[r];
            }
        }
        step
    }

    fn residuals(
        &self,
        x: &[f64],
        y: &[f64],
        s: &[f64],
        z: &[f64],
    ) -> (Vec<f64>, Vec<f64>, Vec<f64>, f64) {
        let mut rd = vec![0.0; self.columns()];
        self.hessian_times(x, &mut rd);
        // ½xᵀPx + qᵀx while P·x is at hand.
        let objective = 0.5 * dot_dense(&rd, x) + dot_dense(self.q, x);
        for (v, q) in rd.iter_mut().zip(self.q) {
            *v += q;
        }
        for (e, row) in self.eq.iter().enumerate() {
            for &(j, v) in &row.entries {
                rd[j] += v * y[e];
            }
        }
        for (r, row) in self.ineq.iter().enumerate() {
            for &(j, v) in &row.entries {
                rd[j] += v * z[r];
            }
        }
        let re = self
            .eq
            .iter()
            .map(|row| dot(&row.entries, x) - row.rhs)
            .collect();
        let ri = self
            .ineq
            .iter()
            .zip(s)
            .map(|(row, s)| dot(&row.entries, x) + s - row.rhs)
            .collect();
        (rd, re, ri, objective)
    }

    fn run(&self) -> Option<Vec<f64>> {
        let m = self.ineq.len();
        if m == 0 {
            return None;
        }
        let nl = self.locals();
        // Start: the least-squares point of the rows with s = z = 1, then both shifted inside.
        let ones = vec![1.0; m];
        let f = self.factor(&ones, &ones)?;
        let mut rhs: Vec<f64> = self.q.iter().map(|v| -v).collect();
        for row in &self.ineq {
            if row.reach != Reach::Dense {
                for &(j, v) in &row.entries {
                    rhs[j] += v * row.rhs;
                }
            }
        }
        let mut rs: Vec<f64> = rhs[nl..].to_vec();
        rs.extend(self.eq.iter().map(|row| row.rhs));
        rs.extend(self.dense.iter().map(|&r| self.ineq[r].rhs));
        let (mut x, ys) = self.system_solve(&f, &rhs[..nl], &rs);
        x.extend_from_slice(&ys[..self.shape.globals]);
        let mut y = vec![0.0; self.eq.len()];
        let mut s: Vec<f64> = self
            .ineq
            .iter()
            .map(|r| r.rhs - dot(&r.entries, &x))
            .collect();
        let mut z: Vec<f64> = s.iter().map(|v| -v).collect();
        // Mehrotra's shifts: inside the cone, then balanced so that no product sᵢzᵢ starts tiny.
        let inside = |v: &[f64]| (-1.5 * v.iter().fold(f64::INFINITY, |a, b| a.min(*b))).max(0.0);
        let (shift_s, shift_z) = (inside(&s), inside(&z));
        let (s_sum, z_sum, product) =
            s.iter()
                .zip(&z)
                .fold((0.0, 0.0, 0.0), |(a, b, c), (si, zi)| {
                    let (si, zi) = (si + shift_s, zi + shift_z);
                    (a + si, b + zi, c + si * zi)
                });
        let (extra_s, extra_z) = if product > 0.0 && s_sum > 0.0 && z_sum > 0.0 {
            (0.5 * product / z_sum, 0.5 * product / s_sum)
        } else {
            (1.0, 1.0)
        };
        s.iter_mut().for_each(|v| *v += shift_s + extra_s);
        z.iter_mut().for_each(|v| *v += shift_z + extra_z);
        let q_scale = 1.0 + norm_inf(self.q);
        let b_scale = 1.0
            + self
                .eq
                .iter()
                .map(|r| r.rhs.abs())
                .chain(self.ineq.iter().map(|r| r.rhs.abs()))
                .fold(0.0, f64::max);
        for _ in 0..MAX_ITERATIONS {
            let (rd, re, ri, objective) = self.residuals(&x, &y, &s, &z);
            let gap: f64 = s.iter().zip(&z).map(|(a, b)| a * b).sum();
            let primal = norm_inf(&re).max(norm_inf(&ri));
            let dual = norm_inf(&rd);
            if !(gap.is_finite() && primal.is_finite() && dual.is_finite()) {
                return None;
            }
            if primal <= TOLERANCE * b_scale
                && dual <= TOLERANCE * q_scale
                && (gap <= TOLERANCE || gap <= TOLERANCE * objective.abs())
            {
                return Some(x);
            }
            if gap <= 1e-6 * TOLERANCE {
                // Complementary to far below the tolerance but still infeasible: the directions
                // have lost accuracy, and more steps will not help.
                return None;
            }
            let f = self.factor(&s, &z)?;
            let mu = gap / m as f64;
            // Predictor.
            let rc: Vec<f64> = s.iter().zip(&z).map(|(a, b)| a * b).collect();
            let affine = self.newton(&f, (&s, &z), (&rd, &re, &ri), &rc);
            let alpha = max_step(&s, &affine.ds)
                .min(max_step(&z, &affine.dz))
                .min(1.0);
            let mu_affine: f64 = s
                .iter()
                .zip(&affine.ds)
                .zip(z.iter().zip(&affine.dz))
                .map(|((s, ds), (z, dz))| (s + alpha * ds) * (z + alpha * dz))
                .sum::<f64>()
                / m as f64;
            let sigma = (mu_affine / mu).clamp(0.0, 1.0).powi(3);
            // Corrector.
            let rc: Vec<f64> = (0..m)
                .map(|r| s[r] * z[r] + affine.ds[r] * affine.dz[r] - sigma * mu)
                .collect();
            let step = self.refined(&f, (&s, &z), (&rd, &re, &ri), &rc);
            let alpha = (0.99 * max_step(&s, &step.ds).min(max_step(&z, &step.dz))).min(1.0);
            if alpha.is_nan() || alpha <= 1e-12 {
                return None;
            }
            for (v, d) in x.iter_mut().zip(&step.dx) {
                *v += alpha * d;
            }
            for (v, d) in y.iter_mut().zip(&step.dy) {
                *v += alpha * d;
            }
            for r in 0..m {
                s[r] += alpha * step.ds[r];
                z[r] += alpha * step.dz[r];
            }
        }
        None
    }
}

fn dot_dense(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}
