//! The Newton systems' linear algebra: eliminating each asset's auxiliary slots, factoring
//! Σ + D (whole in single precision, or split into free and pinned weights late in the run), and the
//! Schur complement of the few dense rows, equalities and globals.

use faer::linalg::solvers::SolveCore;
use faer::{Conj, Mat, MatRef, Side};

use super::{EQUALITY_REGULARISATION, Reach, Solver};

/// One Newton system's factorisation.
pub(super) struct Factor {
    /// Per asset: the auxiliary slots' diagonal and their coupling to the weight.
    aux_diagonal: Vec<[f64; 2]>,
    aux_coupling: Vec<[f64; 2]>,
    weights: Weights,
    /// K⁻¹V and the LU of H − VᵀK⁻¹V.
    v: Mat<f64>,
    k_inv_v: Mat<f64>,
    small: faer::linalg::solvers::PartialPivLu<f64>,
}

enum Weights {
    Dense(faer::linalg::solvers::Llt<f64>),
    /// Σ + D scaled to a unit diagonal and factored in single precision (twice the speed).
    Single {
        llt: faer::linalg::solvers::Llt<f32>,
        scale: Vec<f64>,
    },
    Diagonal(Vec<f64>),
    /// Late in the run most weights sit on a bound, where the barrier term dwarfs their row of
    /// Σ. Those are "pinned": their block of Σ + D is replaced by its diagonal, so only the free
    /// weights' Schur complement is factored (tens of assets instead of hundreds). The Newton
    /// directions' iterative refinement removes the approximation (its relative size is below
    /// 1/PIN by Gershgorin).
    Split {
        free: Vec<usize>,
        pinned: Vec<usize>,
        /// 1 / (Σᵢᵢ + Dᵢ) of the pinned weights.
        inverse: Vec<f64>,
        /// Σ restricted to free rows and pinned columns.
        cross: Mat<f64>,
        llt: faer::linalg::solvers::Llt<f64>,
    },
}

/// How much larger than its row of |Σ| a weight's barrier term must be for it to count as pinned.
const PIN: f64 = 1e3;

impl Solver<'_> {
    /// Factors the Newton system for barrier weights z/s (local rows) and s/z (dense rows).
    pub(super) fn factor(&self, s: &[f64], z: &[f64]) -> Option<Factor> {
        let n = self.shape.n;
        let slots = self.shape.slots;
        let nl = self.locals();
        let globals = self.shape.globals;
        let m = self.small();
        let mut v = Mat::<f64>::zeros(nl, m);
        let mut h = Mat::<f64>::zeros(m, m);
        // The local rows' terms that involve a global (κ) go to the small block.
        for (r, row) in self.ineq.iter().enumerate() {
            if row.reach == Reach::Dense || !row.entries.iter().any(|&(j, _)| j >= nl) {
                continue;
            }
            let weight = z[r] / s[r];
            for &(a, va) in &row.entries {
                for &(b, vb) in &row.entries {
                    match (a < nl, b < nl) {
                        (true, false) => v[(a, b - nl)] += weight * va * vb,
                        (false, false) => h[(a - nl, b - nl)] += weight * va * vb,
                        _ => {}
                    }
                }
            }
        }
        // Per asset: the auxiliary slots' diagonal (no row touches two of them), their coupling
        // to the weight, and the weight's diagonal after eliminating them. That last is
        // Σ W a² − (Σ W a c)² / Σ W c² over the rows of one slot, which cancels catastrophically
        // when one row's W is 1e12 and another's 1e-6 (a weight that moved off its current value);
        // Lagrange's identity gives it as a sum of non-negative terms instead.
        let mut aux_diagonal = vec![[0.0; 2]; n];
        let mut aux_coupling = vec![[0.0; 2]; n];
        let mut diagonal = vec![0.0; n];
        for i in 0..n {
            let rows = &self.by_asset[i];
            let mut lagrange = [0.0; 2];
            for (x, &r) in rows.iter().enumerate() {
                let (wr, cell) = (z[r] / s[r], &self.cells[r]);
                match cell.aux {
                    None => diagonal[i] += wr * cell.a * cell.a,
                    Some(k) => {
                        aux_diagonal[i][k] += wr * cell.c * cell.c;
                        aux_coupling[i][k] += wr * cell.a * cell.c;
                        for &o in &rows[..x] {
                            let other = &self.cells[o];
                            if other.aux == Some(k) {
                                let cross = cell.a * other.c - other.a * cell.c;
                                lagrange[k] += wr * (z[o] / s[o]) * cross * cross;
                            }
                        }
                    }
                }
            }
            for k in 0..slots - 1 {
                if aux_diagonal[i][k].is_nan() || aux_diagonal[i][k] <= 0.0 {
                    return None;
                }
                diagonal[i] += lagrange[k] / aux_diagonal[i][k];
            }
        }
        let weights = match self.p {
            Some(p) => {
                let (pinned, free): (Vec<usize>, Vec<usize>) =
                    (0..n).partition(|&i| diagonal[i] >= PIN * self.row_size[i]);
                if free.len() * 3 > n {
                    dense_weights(p, &diagonal)?
                } else {
                    let inverse: Vec<f64> = pinned
                        .iter()
                        .map(|&i| 1.0 / (p[(i, i)] + diagonal[i]))
                        .collect();
                    let cross =
                        Mat::from_fn(free.len(), pinned.len(), |a, b| p[(free[a], pinned[b])]);
                    let scaled =
                        Mat::from_fn(free.len(), pinned.len(), |a, b| cross[(a, b)] * inverse[b]);
                    let mut schur = Mat::from_fn(free.len(), free.len(), |a, b| {
                        p[(free[a], free[b])] + if a == b { diagonal[free[a]] } else { 0.0 }
                    });
                    schur -= &scaled * cross.transpose();
                    let llt = schur.as_ref().llt(Side::Lower).ok()?;
                    Weights::Split {
                        free,
                        pinned,
                        inverse,
                        cross,
                        llt,
                    }
                }
            }
            None => {
                if diagonal.iter().any(|d| d.is_nan() || *d <= 0.0) {
                    return None;
                }
                Weights::Diagonal(diagonal)
            }
        };
        // The small block: globals, then equality duals, then dense-row duals.
        for (e, row) in self.eq.iter().enumerate() {
            let c = globals + e;
            for &(j, value) in &row.entries {
                if j < nl {
                    v[(j, c)] += value;
                } else {
                    h[(j - nl, c)] += value;
                    h[(c, j - nl)] += value;
                }
            }
            h[(c, c)] -= EQUALITY_REGULARISATION;
        }
        for (d, &r) in self.dense.iter().enumerate() {
            let c = globals + self.eq.len() + d;
            for &(j, value) in &self.ineq[r].entries {
                if j < nl {
                    v[(j, c)] += value;
                } else {
                    h[(j - nl, c)] += value;
                    h[(c, j - nl)] += value;
                }
            }
            h[(c, c)] -= s[r] / z[r];
        }
        let mut factor = Factor {
            aux_diagonal,
            aux_coupling,
            weights,
            k_inv_v: Mat::zeros(0, 0),
            v,
            small: Mat::<f64>::identity(1, 1).partial_piv_lu(),
        };
        let mut k_inv_v = factor.v.clone();
        self.k_solve(&factor, k_inv_v.as_mut());
        let schur = &h - factor.v.transpose() * &k_inv_v;
        if !schur.as_ref().is_all_finite() {
            return None;
        }
        factor.small = schur.partial_piv_lu();
        factor.k_inv_v = k_inv_v;
        Some(factor)
    }

    /// Solves K·X = R in place (K: the Hessian plus the local rows' barrier terms).
    fn k_solve(&self, f: &Factor, mut r: faer::MatMut<'_, f64>) {
        let n = self.shape.n;
        let slots = self.shape.slots;
        let aux = slots - 1;
        for c in 0..r.ncols() {
            for i in 0..n {
                for k in 0..aux {
                    r[(i, c)] -=
                        f.aux_coupling[i][k] * r[((k + 1) * n + i, c)] / f.aux_diagonal[i][k];
                }
            }
        }
        match &f.weights {
            Weights::Dense(llt) => {
                llt.solve_in_place_with_conj(Conj::No, r.as_mut().subrows_mut(0, n))
            }
            Weights::Single { llt, scale } => {
                let mut single =
                    Mat::<f32>::from_fn(n, r.ncols(), |i, c| (r[(i, c)] * scale[i]) as f32);
                llt.solve_in_place_with_conj(Conj::No, single.as_mut());
                for c in 0..r.ncols() {
                    for i in 0..n {
                        r[(i, c)] = f64::from(single[(i, c)]) * scale[i];
                    }
                }
            }
            Weights::Diagonal(d) => {
                for c in 0..r.ncols() {
                    for i in 0..n {
                        r[(i, c)] /= d[i];
                    }
                }
            }
            Weights::Split {
                free,
                pinned,
                inverse,
                cross,
                llt,
            } => {
                // [S_FF  Σ_FB; Σ_BF  Δ] x = r with Δ diagonal: factor the free block's Schur
                // complement, then the pinned weights follow.
                let k = r.ncols();
                let r_b = Mat::from_fn(pinned.len(), k, |b, c| r[(pinned[b], c)] * inverse[b]);
                let mut x_f = Mat::from_fn(free.len(), k, |a, c| r[(free[a], c)]);
                x_f -= cross * &r_b;
                llt.solve_in_place_with_conj(Conj::No, x_f.as_mut());
                let back = cross.transpose() * &x_f;
                for c in 0..k {
                    for (b, &i) in pinned.iter().enumerate() {
                        r[(i, c)] = r_b[(b, c)] - inverse[b] * back[(b, c)];
                    }
                    for (a, &i) in free.iter().enumerate() {
                        r[(i, c)] = x_f[(a, c)];
                    }
                }
            }
        }
        for c in 0..r.ncols() {
            for i in 0..n {
                let xw = r[(i, c)];
                for k in 0..aux {
                    let slot = (k + 1) * n + i;
                    r[(slot, c)] =
                        (r[(slot, c)] - f.aux_coupling[i][k] * xw) / f.aux_diagonal[i][k];
                }
            }
        }
    }

    /// Solves the whole reduced system: locals and the small block.
    pub(super) fn system_solve(&self, f: &Factor, rl: &[f64], rs: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let nl = self.locals();
        let mut a = Mat::from_fn(nl, 1, |i, _| rl[i]);
        self.k_solve(f, a.as_mut());
        let mut y = Mat::from_fn(rs.len(), 1, |i, _| rs[i]);
        if !rs.is_empty() {
            y -= f.v.transpose() * &a;
            f.small.solve_in_place_with_conj(Conj::No, y.as_mut());
            a -= &f.k_inv_v * &y;
        }
        (
            (0..nl).map(|i| a[(i, 0)]).collect(),
            (0..rs.len()).map(|i| y[(i, 0)]).collect(),
        )
    }
}

/// Σ + D factored whole, in single precision after scaling it to a unit diagonal (the scaled
/// matrix stays well conditioned even when the barrier terms span twenty orders of magnitude, and
/// the refinement recovers double precision); in double when single precision breaks down.
fn dense_weights(p: MatRef<'_, f64>, diagonal: &[f64]) -> Option<Weights> {
    let n = diagonal.len();
    let scale: Vec<f64> = (0..n)
        .map(|i| 1.0 / (p[(i, i)] + diagonal[i]).sqrt())
        .collect();
    if scale.iter().all(|v| v.is_finite() && *v > 0.0) {
        let mut single = Mat::<f32>::zeros(n, n);
        for j in 0..n {
            for i in j + 1..n {
                single[(i, j)] = (p[(i, j)] * scale[i] * scale[j]) as f32;
            }
            single[(j, j)] = 1.0;
        }
        if let Ok(llt) = single.as_ref().llt(Side::Lower) {
            return Some(Weights::Single { llt, scale });
        }
    }
    let mut k = p.to_owned();
    for (i, d) in diagonal.iter().enumerate() {
        k[(i, i)] += d;
    }
    Some(Weights::Dense(k.as_ref().llt(Side::Lower).ok()?))
}
