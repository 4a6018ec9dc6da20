//! Black–Litterman views as text: `AAPL = 0.10 @ 0.6; MSFT - KO = 0.03; 0.5*JNJ + 0.5*XOM - AAPL
//! = -0.01`. Views are separated by `;` or new lines (so `--views "$(cat views.txt)"` reads a
//! file); each is a weighted sum of tickers, `=`, the annual return expected of it, and
//! optionally `@` a confidence between 0 and 1.

/// One parsed view, tickers as written (upper-cased).
#[derive(Debug, Clone, PartialEq)]
pub struct ViewSpec {
    /// (ticker, coefficient) pairs, each ticker once.
    pub terms: Vec<(String, f64)>,
    /// Expected annual return of the view portfolio.
    pub target: f64,
    /// Confidence in [0, 1], when stated.
    pub confidence: Option<f64>,
}

/// Every view of one option.
#[derive(Debug, Clone, PartialEq)]
pub struct Views(pub Vec<ViewSpec>);

const EXAMPLE: &str = "e.g. \"AAPL = 0.10 @ 0.6; MSFT - KO = 0.03\"";

fn number(text: &str, what: &str) -> Result<f64, String> {
    let value: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{what} {text:?} is not a number; {EXAMPLE}"))?;
    if value.is_finite() && value.abs() <= 1e6 {
        Ok(value)
    } else {
        Err(format!(
            "{what} {text:?} must be a finite number of at most 1e6"
        ))
    }
}

pub(super) fn parse_terms(lhs: &str) -> Result<Vec<(String, f64)>, String> {
    let mut terms: Vec<(String, f64)> = Vec::new();
    let mut rest = lhs.trim();
    let mut sign = 1.0;
    if rest.is_empty() {
        return Err(format!("a view needs tickers before '='; {EXAMPLE}"));
    }
    loop {
        if let Some(stripped) = rest.strip_prefix('-') {
            sign = -sign;
            rest = stripped.trim_start();
            continue;
        }
        if let Some(stripped) = rest.strip_prefix('+') {
            rest = stripped.trim_start();
            continue;
        }
        // Coefficients are plain decimals (0.5*JNJ); a sign always starts the next term.
        let end = rest.find(['+', '-']).unwrap_or(rest.len());
        let term = rest[..end].trim();
        let (coefficient, ticker) = match term.split_once('*') {
            Some((c, t)) => (number(c, "the coefficient")?, t.trim()),
            None => (1.0, term),
        };
        if !ticker.chars().any(|c| c.is_ascii_alphabetic())
            || !ticker
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '^' | '_'))
        {
            return Err(format!(
                "{term:?} is not COEFFICIENT*TICKER or TICKER; {EXAMPLE}"
            ));
        }
        let ticker = ticker.to_ascii_uppercase();
        if terms.iter().any(|(t, _)| *t == ticker) {
            return Err(format!(
                "{ticker} appears twice in one view; combine its terms"
            ));
        }
        terms.push((ticker, sign * coefficient));
        sign = 1.0;
        rest = rest[end..].trim_start();
        if rest.is_empty() {
            return Ok(terms);
        }
    }
}

/// Parses `--views` (and the part of `--mu bl:…` after the colon).
pub fn parse_views(text: &str) -> Result<Views, String> {
    let mut views = Vec::new();
    for part in text
        .split([';', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (lhs, rhs) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} has no '='; {EXAMPLE}"))?;
        let (target, confidence) = match rhs.split_once('@') {
            Some((q, c)) => {
                let c = number(c, "the confidence")?;
                if !(0.0..=1.0).contains(&c) {
                    return Err(format!(
                        "the confidence {c} of {part:?} must be between 0 and 1"
                    ));
                }
                (number(q, "the target")?, Some(c))
            }
            None => (number(rhs, "the target")?, None),
        };
        views.push(ViewSpec {
            terms: parse_terms(lhs)?,
            target,
            confidence,
        });
    }
    if views.is_empty() {
        return Err(format!("no views given; {EXAMPLE}"));
    }
    if views.len() > 100 {
        return Err("at most 100 views".into());
    }
    Ok(Views(views))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absolute_relative_and_weighted_views() {
        let v =
            parse_views("aapl = 0.10 @ 0.6; MSFT - KO = 0.03\n0.5*JNJ + 0.5*XOM - AAPL = -0.01")
                .unwrap()
                .0;
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].terms, vec![("AAPL".to_string(), 1.0)]);
        assert_eq!(v[0].confidence, Some(0.6));
        assert_eq!(v[1].terms, vec![("MSFT".into(), 1.0), ("KO".into(), -1.0)]);
        assert_eq!(v[1].confidence, None);
        assert_eq!(
            v[2].terms,
            vec![
                ("JNJ".into(), 0.5),
                ("XOM".into(), 0.5),
                ("AAPL".into(), -1.0)
            ]
        );
        assert_eq!(v[2].target, -0.01);
    }

    #[test]
    fn malformed_views_are_refused() {
        for bad in [
            "",
            "AAPL",
            "= 0.1",
            "AAPL = x",
            "AAPL = NaN",
            "AAPL = 0.1 @ 2",
            "AAPL + AAPL = 0.1",
            "2*3 = 0.1",
            "A B = 0.1",
            "AAPL = 1e300",
        ] {
            assert!(parse_views(bad).is_err(), "{bad:?}");
        }
    }
}
