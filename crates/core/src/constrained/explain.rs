//! Why a constrained portfolio is infeasible, in the user's terms: Clarabel's Farkas certificate
//! names a set of rows that cannot hold together, usually far more than needed (an interior-point
//! certificate mixes every proof); a deletion filter shrinks it to a set in which every member is
//! needed, and per-asset bounds are folded into one line when many remain.

use clarabel::solver::SolverStatus;

use super::{ConstrainedError, Row, run};

/// Rows that only define auxiliary variables (|w − w₀|, |w|, κ): never a cause on their own.
pub(super) fn auxiliary(name: &str) -> bool {
    name.starts_with("the trade in ")
        || name.starts_with("the gross exposure of ")
        || name == "κ ≥ 0"
        || name == "excess return normalisation"
}

/// A deletion filter over the constraints in Clarabel's certificate: drop each constraint (the
/// per-asset bounds as two blocks first) whenever the rest is still infeasible, leaving a set
/// in which every member is needed for the conflict.
pub(super) fn irreducible(
    all: &[Row],
    columns: usize,
    certificate: Vec<String>,
) -> Result<Vec<String>, ConstrainedError> {
    let no_objective = vec![Vec::new(); columns];
    let zeros = vec![0.0; columns];
    let infeasible_without =
        |dropped: &[String], keep: &[String]| -> Result<bool, ConstrainedError> {
            let subset: Vec<Row> = all
                .iter()
                .filter(|r| {
                    auxiliary(&r.name) || (keep.contains(&r.name) && !dropped.contains(&r.name))
                })
                .map(|r| Row {
                    name: r.name.clone(),
                    entries: r.entries.clone(),
                    rhs: r.rhs,
                    equality: r.equality,
                })
                .collect();
            let status = run(&subset, columns, &no_objective, &zeros)?.status;
            Ok(matches!(
                status,
                SolverStatus::PrimalInfeasible | SolverStatus::AlmostPrimalInfeasible
            ))
        };
    let mut keep: Vec<String> = certificate.into_iter().filter(|n| !auxiliary(n)).collect();
    for flag in ["(--min-weight)", "(--max-weight)"] {
        let block: Vec<String> = keep.iter().filter(|n| n.ends_with(flag)).cloned().collect();
        if !block.is_empty() && infeasible_without(&block, &keep)? {
            keep.retain(|n| !block.contains(n));
        }
    }
    let mut index = 0;
    while index < keep.len() {
        if keep.len() > 60 {
            break;
        }
        let candidate = vec![keep[index].clone()];
        if infeasible_without(&candidate, &keep)? {
            keep.remove(index);
        } else {
            index += 1;
        }
    }
    Ok(keep)
}

/// Per-asset bounds folded into one line each when there are many.
pub(super) fn summarise(names: Vec<String>) -> Vec<String> {
    let folded: Vec<&str> = ["(--min-weight)", "(--max-weight)"]
        .into_iter()
        .filter(|flag| names.iter().filter(|n| n.ends_with(flag)).count() > 4)
        .collect();
    let mut out: Vec<String> = folded
        .iter()
        .map(|flag| {
            let count = names.iter().filter(|n| n.ends_with(flag)).count();
            format!("the {} bounds of {count} assets", &flag[1..flag.len() - 1])
        })
        .collect();
    out.extend(
        names
            .into_iter()
            .filter(|n| !folded.iter().any(|flag| n.ends_with(flag))),
    );
    out
}
