//! How migrations hang together: each names its parents; the newest is the
//! one no other follows (the head). Two heads (two migrations generated on
//! separate branches from the same parent) must be joined by a merge before
//! another migration is generated or any is applied. A squash replaces a
//! chain by one migration; a parent naming a replaced migration resolves to
//! the squash, so the migrations after it need no edit.

use std::collections::BTreeSet;

use crate::error::{Error, Result};
use crate::migrate::diff;
use crate::migrate::files::MigrationPlan;
use crate::migrate::schema::Schema;

/// The migration `id` names: itself, or the squash that replaced it.
pub fn resolve<'a>(plans: &'a [MigrationPlan], id: &str) -> Option<&'a MigrationPlan> {
    plans
        .iter()
        .find(|p| p.id() == id)
        .or_else(|| plans.iter().find(|p| p.replaces.iter().any(|r| r == id)))
}

/// Checks that every parent exists, no migration is both present and
/// replaced, and the dialect is the same throughout.
pub fn validate(plans: &[MigrationPlan]) -> Result<()> {
    for p in plans {
        for parent in &p.parents {
            if resolve(plans, parent).is_none() {
                return Err(Error::InvalidInput(format!(
                    "migration {} follows {parent}, which is not among the migrations",
                    p.id()
                )));
            }
        }
        for r in &p.replaces {
            if plans.iter().any(|q| q.id() == *r) {
                return Err(Error::InvalidInput(format!(
                    "migration {r} is replaced by the squash {} but still present: remove its directory",
                    p.id()
                )));
            }
        }
        if let Some(q) = plans.iter().find(|q| q.dialect != p.dialect) {
            return Err(Error::InvalidInput(format!(
                "migration {} is for {} but {} is for {}: a migration directory serves one backend",
                p.id(),
                p.dialect,
                q.id(),
                q.dialect
            )));
        }
    }
    Ok(())
}

/// The migrations no other follows.
pub fn heads(plans: &[MigrationPlan]) -> Vec<&MigrationPlan> {
    let followed: BTreeSet<String> = plans
        .iter()
        .flat_map(|p| p.parents.iter().filter_map(|id| resolve(plans, id)))
        .map(MigrationPlan::id)
        .collect();
    plans
        .iter()
        .filter(|p| !followed.contains(&p.id()))
        .collect()
}

/// The one head (`None` for no migrations); "multiple heads" naming them
/// otherwise.
pub fn single_head(plans: &[MigrationPlan]) -> Result<Option<&MigrationPlan>> {
    validate(plans)?;
    let heads = heads(plans);
    match heads.len() {
        0 | 1 => Ok(heads.into_iter().next()),
        _ => Err(Error::InvalidInput(format!(
            "multiple heads: {} each follow a common migration without knowing of the other; \
             join them with merge_migrations (CLI: merge), then generate",
            heads
                .iter()
                .map(|h| h.id())
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

/// `id` and every migration before it.
pub fn ancestry(plans: &[MigrationPlan], id: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![id.to_owned()];
    while let Some(id) = todo.pop() {
        if let Some(p) = resolve(plans, &id) {
            if seen.insert(p.id()) {
                todo.extend(p.parents.iter().cloned());
            }
        }
    }
    seen
}

/// The schema after every head: the first head's, with the changes of the
/// other heads' own migrations (those the first does not follow) applied in
/// version order.
pub fn merged_schema(plans: &[MigrationPlan], heads: &[&MigrationPlan]) -> Schema {
    let Some(first) = heads.first() else {
        return Schema::default();
    };
    let mut schema = first.schema.clone();
    let mut known = ancestry(plans, &first.id());
    for h in &heads[1..] {
        let mut own: Vec<&MigrationPlan> = ancestry(plans, &h.id())
            .difference(&known)
            .filter_map(|id| resolve(plans, id))
            .collect();
        own.sort_by_key(|p| p.id());
        for p in own {
            for step in &p.steps {
                diff::apply(&mut schema, &step.change);
            }
        }
        known.extend(ancestry(plans, &h.id()));
    }
    schema
}

/// An empty migration following every head.
pub fn merge_plan(plans: &[MigrationPlan], version: &str, name: &str) -> Result<MigrationPlan> {
    validate(plans)?;
    let heads = heads(plans);
    if heads.len() < 2 {
        return Err(Error::InvalidInput(format!(
            "nothing to merge: there {} one head",
            if heads.is_empty() {
                "is not even"
            } else {
                "is only"
            }
        )));
    }
    Ok(MigrationPlan {
        format: crate::migrate::files::PLAN_FORMAT,
        version: version.to_owned(),
        name: name.to_owned(),
        dialect: heads[0].dialect.clone(),
        parents: heads.iter().map(|h| h.id()).collect(),
        replaces: Vec::new(),
        steps: Vec::new(),
        schema: merged_schema(plans, &heads),
    })
}

/// The chain of migrations from `from` to `to` (ids or versions), oldest
/// first: each the only parent of the next, and none of them but `to`
/// followed by a migration outside the chain.
pub fn chain<'a>(
    plans: &'a [MigrationPlan],
    from: &str,
    to: &str,
) -> Result<Vec<&'a MigrationPlan>> {
    let find = |x: &str| {
        plans
            .iter()
            .find(|p| p.id() == x || p.version == x)
            .ok_or_else(|| Error::InvalidInput(format!("no migration {x}")))
    };
    let (first, last) = (find(from)?, find(to)?);
    let mut out = vec![last];
    let mut at = last;
    while at.id() != first.id() {
        let parent = match at.parents.as_slice() {
            [] => {
                return Err(Error::InvalidInput(format!(
                    "{from} does not come before {to}"
                )))
            }
            [parent] => parent,
            _ => {
                return Err(Error::InvalidInput(format!(
                    "cannot squash across {}: it is a merge",
                    at.id()
                )))
            }
        };
        at = resolve(plans, parent)
            .ok_or_else(|| Error::InvalidInput(format!("{from} does not come before {to}")))?;
        out.push(at);
    }
    out.reverse();
    let ids: BTreeSet<String> = out.iter().map(|p| p.id()).collect();
    for p in plans {
        if ids.contains(&p.id()) && p.id() != first.id() && p.parents.len() != 1 {
            return Err(Error::InvalidInput(format!(
                "cannot squash {}: it is a merge",
                p.id()
            )));
        }
        let inside = p
            .parents
            .iter()
            .filter_map(|x| resolve(plans, x))
            .any(|q| ids.contains(&q.id()) && q.id() != last.id());
        if inside && !ids.contains(&p.id()) {
            return Err(Error::InvalidInput(format!(
                "cannot squash {from}..{to}: {} follows a migration inside the range",
                p.id()
            )));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plan(version: u64, parents: &[String]) -> MigrationPlan {
        MigrationPlan {
            format: crate::migrate::files::PLAN_FORMAT,
            version: format!("{version:014}"),
            name: "m".into(),
            dialect: "sqlite".into(),
            parents: parents.to_vec(),
            replaces: Vec::new(),
            steps: Vec::new(),
            schema: Schema::default(),
        }
    }

    proptest! {
        /// A chain has one head; a second child of any of its migrations makes
        /// two, and their merge one again.
        #[test]
        fn chains_have_one_head_and_siblings_two(len in 1u64..12, fork in 0u64..12) {
            let mut plans: Vec<MigrationPlan> = Vec::new();
            for v in 0..len {
                let parents: Vec<String> = plans.last().map(|p| vec![p.id()]).unwrap_or_default();
                plans.push(plan(v + 1, &parents));
            }
            prop_assert_eq!(single_head(&plans).unwrap().map(MigrationPlan::id), Some(plans[len as usize - 1].id()));
            let at = (fork % len) as usize;
            let sibling = plan(100, &[plans[at].id()]);
            plans.push(sibling);
            if at + 1 < len as usize {
                let e = single_head(&plans).unwrap_err().to_string();
                prop_assert!(e.contains("multiple heads"), "{}", e);
                let merged = merge_plan(&plans, "00000000000200", "merge").unwrap();
                prop_assert_eq!(merged.parents.len(), 2);
                plans.push(merged);
            }
            prop_assert!(single_head(&plans).unwrap().is_some());
        }
    }

    #[test]
    fn a_parent_replaced_by_a_squash_resolves_to_it() {
        let a = plan(1, &[]);
        let b = plan(2, &[a.id()]);
        let c = plan(3, &[b.id()]);
        let mut squash = plan(2, &[]);
        squash.name = "squashed".into();
        squash.replaces = vec![a.id(), b.id()];
        let plans = vec![squash.clone(), c.clone()];
        validate(&plans).unwrap();
        assert_eq!(single_head(&plans).unwrap().unwrap().id(), c.id());
        assert_eq!(resolve(&plans, &b.id()).unwrap().id(), squash.id());
        let stale = vec![a.clone(), squash, c];
        assert!(validate(&stale)
            .unwrap_err()
            .to_string()
            .contains("still present"));
        assert!(chain(&[a.clone(), b.clone()], &b.id(), &a.id())
            .unwrap_err()
            .to_string()
            .contains("does not come before"));
    }
}
