//! The bivariate standard normal distribution function, needed by the percentile (copula)
//! correlation. statrs has no bivariate normal, so this is Drezner and Wesolowsky's method with
//! Genz's Gauss–Legendre refinements (absolute accuracy about 1e-15), a standard algorithm
//! (A. Genz, "Numerical computation of rectangular bivariate and trivariate normal and t
//! probabilities", Statistics and Computing 14, 2004).

use statrs::distribution::ContinuousCDF;

use crate::estimators::standard_normal;

const W6: [f64; 3] = [
    0.171_324_492_379_170_5,
    0.360_761_573_048_138_4,
    0.467_913_934_572_690_4,
];
const X6: [f64; 3] = [
    0.932_469_514_203_152_2,
    0.661_209_386_466_264_7,
    0.238_619_186_083_197,
];
const W12: [f64; 6] = [
    0.047_175_336_386_511_77,
    0.106_939_325_995_318_3,
    0.160_078_328_543_346_4,
    0.203_167_426_723_065_9,
    0.233_492_536_538_354_7,
    0.249_147_045_813_402_9,
];
const X12: [f64; 6] = [
    0.981_560_634_246_719_1,
    0.904_117_256_370_475,
    0.769_902_674_194_305,
    0.587_317_954_286_617_1,
    0.367_831_498_998_180_2,
    0.125_233_408_511_469_2,
];
const W20: [f64; 10] = [
    0.017_614_007_139_152_12,
    0.040_601_429_800_386_94,
    0.062_672_048_334_109_06,
    0.083_276_741_576_704_75,
    0.101_930_119_817_240_4,
    0.118_194_531_961_518_4,
    0.131_688_638_449_176_6,
    0.142_096_109_318_382_1,
    0.149_172_986_472_603_7,
    0.152_753_387_130_725_9,
];
const X20: [f64; 10] = [
    0.993_128_599_185_094_9,
    0.963_971_927_277_913_8,
    0.912_234_428_251_326,
    0.839_116_971_822_218_8,
    0.746_331_906_460_150_8,
    0.636_053_680_726_515,
    0.510_867_001_950_827_1,
    0.373_706_088_715_419_6,
    0.227_785_851_141_645_1,
    0.076_526_521_133_497_33,
];

fn phi(x: f64) -> f64 {
    standard_normal().cdf(x)
}

/// P(X ≤ x, Y ≤ y) for standard normals with correlation `rho` ∈ [−1, 1].
pub fn bivariate_normal_cdf(x: f64, y: f64, rho: f64) -> f64 {
    upper_orthant(-x, -y, rho)
}

/// P(X > h, Y > k).
fn upper_orthant(h: f64, k: f64, r: f64) -> f64 {
    if h == f64::INFINITY || k == f64::INFINITY {
        return 0.0;
    }
    if h == f64::NEG_INFINITY {
        return if k == f64::NEG_INFINITY { 1.0 } else { phi(-k) };
    }
    if k == f64::NEG_INFINITY {
        return phi(-h);
    }
    if r == 0.0 {
        return phi(-h) * phi(-k);
    }
    let (weights, nodes): (&[f64], &[f64]) = if r.abs() < 0.3 {
        (&W6, &X6)
    } else if r.abs() < 0.75 {
        (&W12, &X12)
    } else {
        (&W20, &X20)
    };
    // Nodes on [0, 2]: 1 − x and 1 + x for each half-interval node x.
    let points = || {
        nodes
            .iter()
            .zip(weights)
            .flat_map(|(&x, &w)| [(1.0 - x, w), (1.0 + x, w)])
    };
    let two_pi = 2.0 * std::f64::consts::PI;
    let mut hk = h * k;
    let bvn;
    if r.abs() < 0.925 {
        let hs = (h * h + k * k) / 2.0;
        let asr = r.asin() / 2.0;
        let sum: f64 = points()
            .map(|(x, w)| {
                let sn = (asr * x).sin();
                w * ((sn * hk - hs) / (1.0 - sn * sn)).exp()
            })
            .sum();
        bvn = sum * asr / two_pi + phi(-h) * phi(-k);
    } else {
        let mut k = k;
        if r < 0.0 {
            k = -k;
            hk = -hk;
        }
        let mut acc = 0.0;
        if r.abs() < 1.0 {
            let a_s = 1.0 - r * r;
            let mut a = a_s.sqrt();
            let bs = (h - k) * (h - k);
            let c = (4.0 - hk) / 8.0;
            let d = (12.0 - hk) / 80.0;
            let asr = -(bs / a_s + hk) / 2.0;
            if asr > -100.0 {
                acc = a
                    * asr.exp()
                    * (1.0 - c * (bs - a_s) * (1.0 - d * bs) / 3.0 + c * d * a_s * a_s);
            }
            if hk > -100.0 {
                let b = bs.sqrt();
                let sp = two_pi.sqrt() * phi(-b / a);
                acc -= (-hk / 2.0).exp() * sp * b * (1.0 - c * bs * (1.0 - d * bs) / 3.0);
            }
            a /= 2.0;
            let mut sum = 0.0;
            for (x, w) in points() {
                let xs = (a * x) * (a * x);
                let asr = -(bs / xs + hk) / 2.0;
                if asr > -100.0 {
                    let sp = 1.0 + c * xs * (1.0 + 5.0 * d * xs);
                    let rs = (1.0 - xs).sqrt();
                    let ep = (-(hk / 2.0) * xs / ((1.0 + rs) * (1.0 + rs))).exp() / rs;
                    sum += w * asr.exp() * (sp - ep);
                }
            }
            acc = (a * sum - acc) / two_pi;
        }
        bvn = if r > 0.0 {
            acc + phi(-h.max(k))
        } else if h >= k {
            -acc
        } else {
            let l = if h < 0.0 {
                phi(k) - phi(h)
            } else {
                phi(-h) - phi(-k)
            };
            l - acc
        };
    }
    bvn.clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Independent check: Φ2(h, k; ρ) = Φ(h)Φ(k) + ∫₀^ρ φ2(h, k; r) dr (Plackett's identity),
    /// integrated with composite Simpson's rule.
    fn by_plackett(h: f64, k: f64, rho: f64) -> f64 {
        let density = |r: f64| {
            let q = 1.0 - r * r;
            (-(h * h - 2.0 * r * h * k + k * k) / (2.0 * q)).exp()
                / (2.0 * std::f64::consts::PI * q.sqrt())
        };
        let n = 20_000;
        let step = rho / n as f64;
        let mut sum = density(0.0) + density(rho);
        for i in 1..n {
            sum += density(i as f64 * step) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        phi(h) * phi(k) + sum * step / 3.0
    }

    #[test]
    fn origin_has_closed_form() {
        for rho in [-0.95, -0.5, 0.0, 0.2, 0.6, 0.9, 0.99] {
            let want = 0.25 + f64::asin(rho) / (2.0 * std::f64::consts::PI);
            assert!(
                (bivariate_normal_cdf(0.0, 0.0, rho) - want).abs() < 1e-14,
                "rho {rho}"
            );
        }
    }

    #[test]
    fn agrees_with_plackett_integration() {
        for &(h, k) in &[
            (-1.28, -0.99),
            (0.5, -0.3),
            (1.28, 1.1),
            (-0.2, 1.6),
            (2.0, -2.0),
        ] {
            for rho in [-0.97, -0.8, -0.4, -0.1, 0.1, 0.35, 0.7, 0.9, 0.97] {
                let got = bivariate_normal_cdf(h, k, rho);
                let want = by_plackett(h, k, rho);
                assert!(
                    (got - want).abs() < 1e-10,
                    "({h},{k},{rho}): {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn limits() {
        assert!((bivariate_normal_cdf(0.3, -0.4, 0.0) - phi(0.3) * phi(-0.4)).abs() < 1e-15);
        assert!((bivariate_normal_cdf(0.3, -0.4, 1.0) - phi(-0.4)).abs() < 1e-12);
        assert_eq!(bivariate_normal_cdf(f64::INFINITY, f64::INFINITY, 0.5), 1.0);
    }
}
