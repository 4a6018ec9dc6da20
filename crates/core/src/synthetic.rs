//! Seeded synthetic universes for scale tests and benchmarks: correlated GBM from a 3-factor
//! model, generated exactly as `shared/data/README.md` specifies (SplitMix64 counter stream,
//! Box–Muller cosine branch), so any implementation of the recipe produces the same numbers.

use faer::Mat;

const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
const FACTOR_VOLS: [f64; 8] = [0.16, 0.08, 0.06, 0.05, 0.04, 0.03, 0.03, 0.02];

/// The SplitMix64 counter stream: value k is mix(seed + (k + 1)·γ).
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    seed: u64,
    counter: u64,
}

impl SplitMix64 {
    /// A stream starting at k = 0.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { seed, counter: 0 }
    }

    /// The next raw 64-bit value.
    pub fn next_u64(&mut self) -> u64 {
        self.counter += 1;
        let mut z = self
            .seed
            .wrapping_add(self.counter.wrapping_mul(GOLDEN_GAMMA));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// The next uniform, strictly inside (0, 1).
    pub fn next_uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// The next standard normal (Box–Muller, cosine branch; two uniforms each).
    pub fn next_normal(&mut self) -> f64 {
        let u1 = self.next_uniform();
        let u2 = self.next_uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The first `count` standard normals of the stream with `seed`.
pub fn standard_normals(seed: u64, count: usize) -> Vec<f64> {
    let mut stream = SplitMix64::new(seed);
    (0..count).map(|_| stream.next_normal()).collect()
}

/// A synthetic universe: T × N daily log returns and the (T + 1) × N prices they produce.
#[derive(Debug, Clone)]
pub struct Universe {
    /// Daily log returns, one row per day, one column per asset.
    pub log_returns: Mat<f64>,
    /// Prices, starting at 100.
    pub prices: Mat<f64>,
}

/// Generates N assets × T returns with K factors from `seed`, as specified.
pub fn universe(seed: u64, assets: usize, days: usize, factors: usize) -> Universe {
    assert!(
        (1..=FACTOR_VOLS.len()).contains(&factors),
        "between 1 and 8 factors"
    );
    let mut params = SplitMix64::new(seed);
    let width = factors + 2;
    let uniforms: Vec<f64> = (0..assets * width).map(|_| params.next_uniform()).collect();
    let mut loadings = vec![vec![0.0; factors]; assets];
    let mut idio = vec![0.0; assets];
    let mut drift = vec![0.0; assets];
    for i in 0..assets {
        let row = &uniforms[i * width..(i + 1) * width];
        loadings[i][0] = 0.5 + row[0];
        for k in 1..factors {
            loadings[i][k] = row[k] - 0.5;
        }
        idio[i] = 0.15 + 0.30 * row[factors];
        drift[i] = -0.05 + 0.25 * row[factors + 1];
    }
    let sqrt_year = 252f64.sqrt();
    let mut factor_stream = SplitMix64::new(seed.wrapping_add(1));
    let mut factor_shocks = vec![0.0; days * factors];
    for t in 0..days {
        for k in 0..factors {
            factor_shocks[t * factors + k] =
                factor_stream.next_normal() * FACTOR_VOLS[k] / sqrt_year;
        }
    }
    let daily_drift: Vec<f64> = (0..assets)
        .map(|i| {
            let variance: f64 = (0..factors)
                .map(|k| loadings[i][k] * loadings[i][k] * FACTOR_VOLS[k] * FACTOR_VOLS[k])
                .sum::<f64>()
                + idio[i] * idio[i];
            (drift[i] - variance / 2.0) / 252.0
        })
        .collect();
    let mut idio_stream = SplitMix64::new(seed.wrapping_add(2));
    let mut log_returns = Mat::<f64>::zeros(days, assets);
    for t in 0..days {
        let shocks = &factor_shocks[t * factors..(t + 1) * factors];
        for i in 0..assets {
            let systematic: f64 = (0..factors).map(|k| shocks[k] * loadings[i][k]).sum();
            let own = idio_stream.next_normal() * idio[i] / sqrt_year;
            log_returns[(t, i)] = daily_drift[i] + systematic + own;
        }
    }
    let mut prices = Mat::<f64>::zeros(days + 1, assets);
    for i in 0..assets {
        prices[(0, i)] = 100.0;
        let mut cumulative = 0.0;
        for t in 0..days {
            cumulative += log_returns[(t, i)];
            prices[(t + 1, i)] = 100.0 * cumulative.exp();
        }
    }
    Universe {
        log_returns,
        prices,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs()
    }

    #[test]
    fn matches_the_published_check_values() {
        let mut s = SplitMix64::new(7);
        let u: Vec<f64> = (0..4).map(|_| s.next_uniform()).collect();
        let want = [
            0.38982974839127155,
            0.016788294528156167,
            0.9007606806068835,
            0.5829302930280782,
        ];
        for (g, w) in u.iter().zip(want) {
            assert!(close(*g, w), "{g} vs {w}");
        }
        let n = standard_normals(8, 2);
        assert!(close(n[0], -0.7475954223456424) && close(n[1], -0.8409768664286877));

        let small = universe(7, 500, 2520, 3);
        assert!(close(small.prices[(1, 0)], 99.29322919154484));
        assert!(close(small.prices[(2520, 0)], 59.27556073383544));
        assert!(close(small.prices[(2520, 499)], 68.95233767306749));
        assert!(close(small.prices[(1260, 250)], 330.00397329411805));
    }
}
