//! Agglomerative hierarchical clustering, for the hierarchical allocation methods.
//!
//! The dendrogram is built with the nearest-neighbour-chain algorithm (O(n²) time, exact for the
//! four "reducible" linkages offered) on a full distance matrix, updated by the Lance–Williams
//! formulas. The merges are then put in scipy's canonical form — sorted by height (stable), each
//! merge naming the smaller cluster id first, new clusters numbered n, n+1, … — so the leaf order
//! of [`Dendrogram::leaves`] is the one `scipy.cluster.hierarchy.to_tree(Z).pre_order()` gives,
//! which is what PyPortfolioOpt's HRP sorts assets by.

use faer::{Mat, MatRef};

/// How the distance between two clusters follows from their members' distances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linkage {
    /// Nearest members.
    Single,
    /// Farthest members.
    Complete,
    /// Mean over all pairs (UPGMA).
    Average,
    /// Least increase in within-cluster variance (Euclidean distances).
    Ward,
}

impl Linkage {
    /// The name the command line uses.
    pub fn name(&self) -> &'static str {
        match self {
            Linkage::Single => "single",
            Linkage::Complete => "complete",
            Linkage::Average => "average",
            Linkage::Ward => "ward",
        }
    }
}

/// One merge: two cluster ids (smaller first), the height, and the merged size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Merge {
    /// Left child id (leaves are 0..n, merges n..2n−1).
    pub left: usize,
    /// Right child id.
    pub right: usize,
    /// Linkage distance.
    pub height: f64,
    /// Leaves under the merge.
    pub size: usize,
}

/// A complete dendrogram over n leaves: n − 1 merges in scipy's order.
#[derive(Debug, Clone)]
pub struct Dendrogram {
    /// Number of leaves.
    pub leaves: usize,
    /// The merges, lowest first.
    pub merges: Vec<Merge>,
}

impl Dendrogram {
    /// Leaves from left to right (a pre-order walk, left child first).
    pub fn leaf_order(&self) -> Vec<usize> {
        let n = self.leaves;
        if n <= 1 {
            return (0..n).collect();
        }
        let mut order = Vec::with_capacity(n);
        let mut stack = vec![2 * n - 2];
        while let Some(id) = stack.pop() {
            if id < n {
                order.push(id);
            } else {
                let m = self.merges[id - n];
                stack.push(m.right);
                stack.push(m.left);
            }
        }
        order
    }
}

/// Clusters n points given their symmetric distance matrix (finite, non-negative).
pub fn linkage(distances: MatRef<'_, f64>, method: Linkage) -> Dendrogram {
    let n = distances.nrows();
    let mut d: Mat<f64> = distances.to_owned();
    let mut size = vec![1usize; n];
    let mut active = vec![true; n];
    let mut raw: Vec<(usize, usize, f64)> = Vec::with_capacity(n.saturating_sub(1));
    let mut chain: Vec<usize> = Vec::with_capacity(n);
    while raw.len() + 1 < n {
        if chain.is_empty() {
            chain.push(active.iter().position(|a| *a).expect("an active cluster"));
        }
        let (x, y, height) = loop {
            let x = *chain.last().expect("chain");
            let previous = chain.len().checked_sub(2).map(|i| chain[i]);
            // The nearest active neighbour; on a tie the previous chain element wins, which
            // keeps the chain from cycling.
            let mut best = previous;
            let mut best_d = previous.map_or(f64::INFINITY, |p| d[(x, p)]);
            for (k, &is_active) in active.iter().enumerate() {
                if is_active && k != x && d[(x, k)] < best_d {
                    best = Some(k);
                    best_d = d[(x, k)];
                }
            }
            let y = best.expect("another active cluster");
            if Some(y) == previous {
                chain.truncate(chain.len() - 2);
                break (x.min(y), x.max(y), best_d);
            }
            chain.push(y);
        };
        raw.push((x, y, height));
        let (nx, ny) = (size[x] as f64, size[y] as f64);
        for k in 0..n {
            if !active[k] || k == x || k == y {
                continue;
            }
            let nk = size[k] as f64;
            let (dx, dy) = (d[(x, k)], d[(y, k)]);
            let merged = match method {
                Linkage::Single => dx.min(dy),
                Linkage::Complete => dx.max(dy),
                Linkage::Average => (nx * dx + ny * dy) / (nx + ny),
                Linkage::Ward => (((nx + nk) * dx * dx + (ny + nk) * dy * dy
                    - nk * height * height)
                    / (nx + ny + nk))
                    .max(0.0)
                    .sqrt(),
            };
            d[(y, k)] = merged;
            d[(k, y)] = merged;
        }
        active[x] = false;
        size[y] += size[x];
        size[x] = 0;
    }
    canonical(n, raw)
}

/// scipy's `label`: sort by height (stable), then name clusters by a union-find.
fn canonical(n: usize, mut raw: Vec<(usize, usize, f64)>) -> Dendrogram {
    raw.sort_by(|a, b| a.2.total_cmp(&b.2));
    let mut parent: Vec<usize> = (0..2 * n.max(1) - 1).collect();
    let mut sizes = vec![1usize; 2 * n.max(1) - 1];
    fn find(parent: &mut [usize], mut x: usize) -> usize {
        let mut root = x;
        while parent[root] != root {
            root = parent[root];
        }
        while parent[x] != root {
            let next = parent[x];
            parent[x] = root;
            x = next;
        }
        root
    }
    let merges = raw
        .iter()
        .enumerate()
        .map(|(i, &(x, y, height))| {
            let (a, b) = (find(&mut parent, x), find(&mut parent, y));
            let id = n + i;
            parent[a] = id;
            parent[b] = id;
            sizes[id] = sizes[a] + sizes[b];
            Merge {
                left: a.min(b),
                right: a.max(b),
                height,
                size: sizes[id],
            }
        })
        .collect();
    Dendrogram { leaves: n, merges }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(points: &[f64]) -> Mat<f64> {
        Mat::from_fn(points.len(), points.len(), |i, j| {
            (points[i] - points[j]).abs()
        })
    }

    #[test]
    fn points_on_a_line_merge_nearest_first() {
        // 0 and 1 are closest, then 3 and 4, then {0,1} with 2.
        let d = line(&[0.0, 0.1, 0.35, 1.0, 1.12]);
        let tree = linkage(d.as_ref(), Linkage::Single);
        let pairs: Vec<(usize, usize)> = tree.merges.iter().map(|m| (m.left, m.right)).collect();
        assert_eq!(pairs, vec![(0, 1), (3, 4), (2, 5), (6, 7)]);
        assert_eq!(tree.merges[3].size, 5);
        // scipy's pre-order: the root's left child is the smaller id, {3,4} (6) before {0,1,2} (7).
        assert_eq!(tree.leaf_order(), vec![3, 4, 2, 0, 1]);
    }

    #[test]
    fn linkages_differ_as_defined() {
        let d = line(&[0.0, 1.0, 2.1, 3.3]);
        let single = linkage(d.as_ref(), Linkage::Single);
        let complete = linkage(d.as_ref(), Linkage::Complete);
        let average = linkage(d.as_ref(), Linkage::Average);
        assert!((single.merges[2].height - 1.2).abs() < 1e-12);
        assert!((complete.merges[2].height - 3.3).abs() < 1e-12);
        assert!(average.merges[2].height > 1.2 && average.merges[2].height < 3.3);
        let ward = linkage(d.as_ref(), Linkage::Ward);
        assert_eq!(ward.merges.len(), 3);
    }

    #[test]
    fn one_and_two_leaves() {
        let one = linkage(Mat::<f64>::zeros(1, 1).as_ref(), Linkage::Ward);
        assert!(one.merges.is_empty() && one.leaf_order() == vec![0]);
        let two = linkage(line(&[0.0, 1.0]).as_ref(), Linkage::Average);
        assert_eq!(two.leaf_order(), vec![0, 1]);
    }
}
