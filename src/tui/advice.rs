//! Which of `strata advise`'s recommendations concern an item of the browser: those whose
//! paths hold it (the command deletes it whole) and those whose paths lie inside it (the
//! command deletes part of it). Looked up by path in one ordered map, so a kind of thousands
//! of owners is answered without scanning every recommendation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use analyzers::advice::{AdviceReport, Recommendation};

/// How much of an item a recommendation's command deletes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Coverage {
    /// The item is among, or inside, the paths it deletes.
    Whole,
    /// Some of the paths it deletes are inside the item.
    Part,
}

/// The recommendations of one `advise` report, by the paths they delete.
#[derive(Debug)]
pub struct AdviceIndex {
    report: AdviceReport,
    /// Every path a recommendation deletes, with the recommendations (indices) deleting it.
    by_path: BTreeMap<PathBuf, Vec<usize>>,
}

impl AdviceIndex {
    /// Indexes `report`.
    pub fn new(report: AdviceReport) -> AdviceIndex {
        let mut by_path: BTreeMap<PathBuf, Vec<usize>> = BTreeMap::new();
        for (i, rec) in report.recommendations.iter().enumerate() {
            for p in &rec.paths {
                by_path.entry(p.clone()).or_default().push(i);
            }
        }
        AdviceIndex { report, by_path }
    }

    /// The recommendations concerning any of `paths` (absolute, as the report's), most bytes
    /// first (the report's order), each once with the most it covers of them.
    pub fn concerning(&self, paths: &[PathBuf]) -> Vec<(&Recommendation, Coverage)> {
        let mut found: BTreeMap<usize, Coverage> = BTreeMap::new();
        for path in paths {
            for (i, coverage) in self.of_path(path) {
                let best = found.entry(i).or_insert(coverage);
                *best = (*best).min(coverage);
            }
        }
        found
            .into_iter()
            .map(|(i, c)| (&self.report.recommendations[i], c))
            .collect()
    }

    /// The recommendations (indices) concerning `path`.
    fn of_path(&self, path: &Path) -> BTreeSet<(usize, Coverage)> {
        let mut out = BTreeSet::new();
        for ancestor in path.ancestors() {
            for &i in self.by_path.get(ancestor).into_iter().flatten() {
                out.insert((i, Coverage::Whole));
            }
        }
        let inside = self
            .by_path
            .range::<Path, _>((std::ops::Bound::Excluded(path), std::ops::Bound::Unbounded))
            .take_while(|(p, _)| p.starts_with(path));
        for (_, recs) in inside {
            out.extend(recs.iter().map(|&i| (i, Coverage::Part)));
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use analyzers::advice::Risk;

    /// A recommendation deleting `paths`, reclaiming `bytes`.
    pub(crate) fn rec(action: &str, bytes: u64, paths: &[&str]) -> Recommendation {
        Recommendation {
            action: action.to_owned(),
            what: format!("what {action} removes"),
            why: "why".to_owned(),
            bytes,
            risk: Risk::Medium,
            risk_note: "files written inside them are lost".to_owned(),
            command: format!("docker {action} -f"),
            paths: paths.iter().map(PathBuf::from).collect(),
        }
    }

    /// An advise report of `recs`.
    pub(crate) fn report(recs: Vec<Recommendation>) -> AdviceReport {
        AdviceReport {
            driver: "overlay2".to_owned(),
            reclaimable_bytes: recs.iter().map(|r| r.bytes).sum(),
            recommendations: recs,
            shared_extents: false,
            problems: Vec::new(),
        }
    }

    #[test]
    fn an_item_is_covered_by_its_ancestors_and_partly_by_what_is_inside_it() {
        let index = AdviceIndex::new(report(vec![
            rec(
                "image-prune",
                900,
                &["/r/overlay2/aaa", "/r/image/overlay2/imagedb/x"],
            ),
            rec(
                "container-prune",
                500,
                &["/r/overlay2/bbb", "/r/containers/c1"],
            ),
        ]));
        let of = |p: &str| -> Vec<(String, Coverage)> {
            index
                .concerning(&[PathBuf::from(p)])
                .into_iter()
                .map(|(r, c)| (r.action.clone(), c))
                .collect()
        };
        assert_eq!(
            of("/r/overlay2/aaa"),
            [("image-prune".into(), Coverage::Whole)]
        );
        assert_eq!(
            of("/r/overlay2/aaa/diff/bin"),
            [("image-prune".into(), Coverage::Whole)]
        );
        assert_eq!(of("/r/image"), [("image-prune".into(), Coverage::Part)]);
        assert_eq!(
            of("/r/overlay2"),
            [
                ("image-prune".into(), Coverage::Part),
                ("container-prune".into(), Coverage::Part)
            ]
        );
        assert!(
            of("/r/overlay2/aa").is_empty(),
            "a name prefix is no parent"
        );
        assert!(of("/r/volumes").is_empty());
        let both = index.concerning(&[PathBuf::from("/r/image"), PathBuf::from("/r/overlay2/aaa")]);
        assert_eq!(both.len(), 1);
        assert_eq!(both[0].1, Coverage::Whole, "the most it covers");
    }
}
