//! `cargo bench -p stratus-cli --bench models_bench`: the risk-model and allocation rows of issue
//! 16, each beside its Python peer timed in the same run on the same matrix (one thread on both
//! sides). Stratus writes the seeded synthetic returns to a temporary file, and
//! `tools/bench/models_peer.py` times scikit-learn, PyPortfolioOpt and skfolio on them; without
//! that Python stack the peer columns say so and only Stratus's times are printed.

#![allow(missing_docs, clippy::print_stdout)]

use std::hint::black_box;
use std::io::Write;
use std::time::{Duration, Instant};

use faer::Mat;
use stratus_core::allocation::{hierarchical_risk_parity, risk_budgeting};
use stratus_core::cluster::Linkage;
use stratus_core::covariance::{Par, covariance_matrix};
use stratus_core::risk_models::{RiskModel, estimate_covariance};
use stratus_core::synthetic::universe;

#[path = "support/peer.rs"]
mod peer;

fn time<T>(runs: usize, mut work: impl FnMut() -> T) -> (f64, f64) {
    black_box(work());
    let mut samples: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            black_box(work());
            start.elapsed()
        })
        .collect();
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    (ms(samples[0]), ms(samples[samples.len() / 2]))
}

fn write_matrix(m: &Mat<f64>, file: &mut tempfile::NamedTempFile) {
    let mut bytes = Vec::with_capacity(m.nrows() * m.ncols() * 8);
    for t in 0..m.nrows() {
        for j in 0..m.ncols() {
            bytes.extend_from_slice(&m[(t, j)].to_le_bytes());
        }
    }
    file.write_all(&bytes).unwrap();
    file.flush().unwrap();
}

fn main() {
    let (days, big_n, mid_n) = (2520, 2000, 500);
    let big = universe(20261130, big_n, days, 4).log_returns;
    let mid = universe(7, mid_n, days, 4).log_returns;
    let (mut big_file, mut mid_file) = (
        tempfile::NamedTempFile::new().unwrap(),
        tempfile::NamedTempFile::new().unwrap(),
    );
    write_matrix(&big, &mut big_file);
    write_matrix(&mid, &mut mid_file);
    let spec = serde_json::json!({
        "big": big_file.path(), "big_shape": [days, big_n],
        "mid": mid_file.path(), "mid_shape": [days, mid_n],
    });
    println!("timing Stratus …");
    let lw = time(3, || {
        estimate_covariance(big.as_ref(), RiskModel::LedoitWolf, 1.0, Par::Seq).unwrap()
    });
    let sample = time(5, || covariance_matrix(big.as_ref(), 1.0, Par::Seq));
    let sample_two = time(5, || covariance_matrix(big.as_ref(), 1.0, Par::Threads(2)));
    let mid_sample = time(7, || covariance_matrix(mid.as_ref(), 1.0, Par::Seq));
    let mid_sample_two = time(7, || covariance_matrix(mid.as_ref(), 1.0, Par::Threads(2)));
    let big_cov = covariance_matrix(big.as_ref(), 1.0, Par::Seq);
    let hrp = time(3, || {
        hierarchical_risk_parity(big_cov.as_ref(), Linkage::Single).unwrap()
    });
    let hrp_total = time(1, || {
        let cov = covariance_matrix(big.as_ref(), 1.0, Par::Seq);
        hierarchical_risk_parity(cov.as_ref(), Linkage::Single).unwrap()
    });
    let mid_cov = covariance_matrix(mid.as_ref(), 1.0, Par::Seq);
    let parity = time(3, || risk_budgeting(mid_cov.as_ref(), None).unwrap());
    let parity_total = time(1, || {
        let cov = covariance_matrix(mid.as_ref(), 1.0, Par::Seq);
        risk_budgeting(cov.as_ref(), None).unwrap()
    });
    let constrained = {
        use stratus_core::constrained::{
            Constraints, LinearConstraint, QpSolver, Relation, Target, solve, solve_with,
        };
        let n = mid_n;
        let cov = covariance_matrix(mid.as_ref(), 252.0, Par::Seq);
        let mean: Vec<f64> = stratus_core::covariance::column_means(mid.as_ref())
            .iter()
            .map(|m| 252.0 * m)
            .collect();
        let constraints = Constraints {
            lower: vec![0.0; n],
            upper: vec![1.0; n],
            linear: (0..10)
                .map(|k| LinearConstraint {
                    name: format!("S{k}"),
                    coefficients: (0..n)
                        .map(|i| if i % 10 == k { 1.0 } else { 0.0 })
                        .collect(),
                    relation: Relation::AtMost,
                    bound: 0.15,
                })
                .collect(),
            current: Some(vec![1.0 / n as f64; n]),
            turnover: Some(0.5),
            ..Constraints::default()
        };
        let structured = time(5, || {
            solve(&mean, cov.as_ref(), &constraints, Target::MinVariance).unwrap()
        });
        let clarabel = time(3, || {
            solve_with(
                &mean,
                cov.as_ref(),
                &constraints,
                Target::MinVariance,
                QpSolver::Clarabel,
            )
            .unwrap()
        });
        (structured, clarabel)
    };
    let (constrained, constrained_clarabel) = constrained;
    println!("timing the Python peers (one thread) …");
    let peer = peer::python_peer("models_peer.py", &spec);
    let peer_ms = |key: &str| peer.as_ref().and_then(|p| p[key][0].as_f64());
    println!();
    if let Some(kernels) = peer.as_ref().and_then(|p| p["openblas-kernels"].as_str()) {
        // OpenBLAS picks its kernels by CPU model; one it does not know gets an older set.
        println!("numpy's OpenBLAS runs its {kernels} kernels on this CPU by default.");
    }
    println!(
        "| task | size | Stratus min / median ms | Python peer | peer min ms | speed-up | target |"
    );
    println!("|---|---|---|---|---|---|---|");
    /// Task, size, Stratus (min, median), peer name, peer key, target.
    type Row<'a> = (&'a str, String, (f64, f64), &'a str, &'a str, &'a str);
    let rows: [Row; 13] = [
        (
            "Ledoit–Wolf covariance",
            format!("{big_n} × {days}"),
            lw,
            "scikit-learn LedoitWolf",
            "ledoit-wolf",
            "≥ 1×",
        ),
        (
            "sample covariance",
            format!("{big_n} × {days}"),
            sample,
            "numpy.cov",
            "sample-cov",
            "≥ 1.8× (issue 16)",
        ),
        (
            "  the same, against OpenBLAS's AVX-512 kernels",
            format!("{big_n} × {days}"),
            sample,
            "numpy.cov, OPENBLAS_CORETYPE=SkylakeX",
            "sample-cov-avx512",
            "(reference)",
        ),
        (
            "sample covariance, 2 threads (opt-in)",
            format!("{big_n} × {days}"),
            sample_two,
            "numpy.cov (1 thread)",
            "sample-cov",
            "scales with a 2nd thread",
        ),
        (
            "sample covariance",
            format!("{mid_n} × {days}"),
            mid_sample,
            "numpy.cov",
            "sample-cov-mid",
            "≥ 1.8× (issue 16)",
        ),
        (
            "  the same, against OpenBLAS's AVX-512 kernels",
            format!("{mid_n} × {days}"),
            mid_sample,
            "numpy.cov, OPENBLAS_CORETYPE=SkylakeX",
            "sample-cov-mid-avx512",
            "(reference)",
        ),
        (
            "sample covariance, 2 threads (opt-in)",
            format!("{mid_n} × {days}"),
            mid_sample_two,
            "numpy.cov (1 thread)",
            "sample-cov-mid",
            "scales with a 2nd thread",
        ),
        (
            "HRP, returns → weights",
            format!("{big_n} assets"),
            hrp_total,
            "PyPortfolioOpt HRPOpt",
            "hrp-pypfopt",
            "≥ 10×",
        ),
        (
            "HRP, returns → weights",
            format!("{big_n} assets"),
            hrp_total,
            "skfolio HierarchicalRiskParity",
            "hrp-skfolio",
            "≥ 10×",
        ),
        (
            "risk parity, returns → weights",
            format!("{mid_n} assets"),
            parity_total,
            "skfolio RiskBudgeting",
            "risk-parity-skfolio",
            "≥ 10×",
        ),
        (
            "min variance, 10 sector caps + turnover",
            format!("{mid_n} assets"),
            constrained,
            "PyPortfolioOpt (cvxpy)",
            "constrained-pypfopt",
            "≥ 10×",
        ),
        (
            "  the same with Clarabel alone",
            format!("{mid_n} assets"),
            constrained_clarabel,
            "PyPortfolioOpt (cvxpy)",
            "constrained-pypfopt",
            "",
        ),
        (
            "  of which HRP / risk parity alone",
            format!("{big_n} / {mid_n}"),
            (hrp.0, parity.0),
            "—",
            "",
            "",
        ),
    ];
    for (task, size, (min, median), peer_name, key, target) in rows {
        let (peer_cell, speed) = match peer_ms(key) {
            Some(p) => (format!("{p:.1}"), format!("{:.2}×", p / min)),
            None => ("—".into(), "—".into()),
        };
        println!(
            "| {task} | {size} | {min:.1} / {median:.1} | {peer_name} | {peer_cell} | {speed} | {target} |"
        );
    }
}
