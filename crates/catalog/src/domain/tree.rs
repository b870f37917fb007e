//! The category tree: which categories lie under a given one.

use super::product::CategoryRecord;
use super::values::CategoryId;
use std::collections::HashMap;

/// `root` and every category below it, at any depth. Cycles cannot be created through the API
/// (a parent must exist before its child), but the walk tolerates them anyway.
pub fn with_descendants(categories: &[CategoryRecord], root: CategoryId) -> Vec<CategoryId> {
    let mut children: HashMap<CategoryId, Vec<CategoryId>> = HashMap::new();
    for c in categories {
        if let Some(parent) = c.parent_id {
            children.entry(parent).or_default().push(c.id);
        }
    }
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        for child in children.get(&found[next]).into_iter().flatten() {
            if !found.contains(child) {
                found.push(*child);
            }
        }
        next += 1;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn category(parent: Option<CategoryId>) -> CategoryRecord {
        CategoryRecord {
            id: CategoryId::new(),
            slug: String::new(),
            name: String::new(),
            parent_id: parent,
            created_at_ms: 0,
        }
    }

    #[test]
    fn descendants_include_grandchildren_but_not_siblings() {
        let root = category(None);
        let child = category(Some(root.id));
        let grandchild = category(Some(child.id));
        let sibling = category(None);
        let all = [root.clone(), child.clone(), grandchild.clone(), sibling];
        let found = with_descendants(&all, root.id);
        assert_eq!(found, vec![root.id, child.id, grandchild.id]);
    }
}
