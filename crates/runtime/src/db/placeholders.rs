//! Which `$n` each of a prepared SQLite statement's parameters is, remembered per SQL text.
//!
//! SQLite numbers `$n` placeholders in order of first appearance, not by `n`, so a statement is
//! bound by asking each parameter's name. `sqlite3_bind_parameter_name` walks the statement's
//! list of names, so asking every one costs the square of their count: a multi-row insert of
//! 250 rows × 10 columns spent 11 % of an import's CPU there. The numbering depends only on the
//! SQL text, so for a statement with many parameters it is read once per text and thread and
//! kept; a statement with few is cheaper to ask again than to look up (and not worth its text's
//! memory).

use super::DbError;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

/// SQL texts remembered per thread before the map starts over: multi-row statements vary by
/// row count, so this bounds the memory their texts take (a few MB per thread at most).
const REMEMBERED: usize = 256;

/// Statements with more parameters than this have their numbering remembered.
const REMEMBER_FROM: usize = 16;

thread_local! {
    static NUMBERS: RefCell<HashMap<Box<str>, Rc<[u32]>>> = RefCell::new(HashMap::new());
}

/// The `$n` of each parameter index of `stmt` (from 1), in index order, remembered per SQL
/// text; `None` for a statement with few parameters, whose numbers [`number`] reads in place.
pub(super) fn remembered(sql: &str, stmt: &rusqlite::Statement<'_>) -> Result<Option<Rc<[u32]>>, DbError> {
    if stmt.parameter_count() <= REMEMBER_FROM {
        return Ok(None);
    }
    if let Some(known) = NUMBERS.with(|m| m.borrow().get(sql).cloned()) {
        return Ok(Some(known));
    }
    let read: Rc<[u32]> = (1..=stmt.parameter_count())
        .map(|index| number(stmt, index))
        .collect::<Result<_, _>>()?;
    NUMBERS.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= REMEMBERED {
            m.clear();
        }
        m.insert(sql.into(), read.clone());
    });
    Ok(Some(read))
}

/// The `n` of the `$n` that is parameter `index` (from 1) of `stmt`.
pub(super) fn number(stmt: &rusqlite::Statement<'_>, index: usize) -> Result<u32, DbError> {
    let name = stmt.parameter_name(index).unwrap_or_default();
    name.strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .filter(|n| *n > 0)
        .ok_or_else(|| DbError::Other(format!("placeholder {name:?} is not $n")))
}

/// Every parameter's `$n`, in index order (the tests' view of the two paths above).
#[cfg(test)]
fn numbers(sql: &str, stmt: &rusqlite::Statement<'_>) -> Result<Rc<[u32]>, DbError> {
    match remembered(sql, stmt)? {
        Some(known) => Ok(known),
        None => (1..=stmt.parameter_count()).map(|i| number(stmt, i)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_first_appearance() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql = "SELECT $2, $1, $2, $3";
        let stmt = conn.prepare(sql).unwrap();
        assert_eq!(&*numbers(sql, &stmt).unwrap(), &[2, 1, 3]);
    }

    #[test]
    fn a_long_statements_numbering_is_remembered() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let list: Vec<String> = (1..=40).rev().map(|n| format!("${n}")).collect();
        let sql = format!("SELECT {}", list.join(", "));
        let stmt = conn.prepare(&sql).unwrap();
        let first = numbers(&sql, &stmt).unwrap();
        assert_eq!((first.first(), first.last()), (Some(&40), Some(&1)));
        let again = conn.prepare(&sql).unwrap();
        assert!(Rc::ptr_eq(&numbers(&sql, &again).unwrap(), &first));
    }

    #[test]
    fn a_statement_binds_each_value_to_its_own_placeholder_on_both_paths() {
        use crate::db::value::ValueRef;
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let read = |sql: &str, params: &[&dyn crate::db::Param]| {
            let mut values = Vec::new();
            super::super::sqlite::each_row(&conn, sql, params, &mut |row| {
                for i in 0..3 {
                    match row.column(i)? {
                        ValueRef::Int(v) => values.push(v),
                        other => panic!("column {i}: {other:?}"),
                    }
                }
                Ok(true)
            })
            .unwrap();
            values
        };
        assert_eq!(read("SELECT $2, $1, $2", &[&10_i64, &20_i64]), [20, 10, 20]);
        // More than REMEMBER_FROM parameters: the remembered numbering.
        let many: Vec<i64> = (1..=20).collect();
        let params: Vec<&dyn crate::db::Param> = many.iter().map(|v| v as &dyn crate::db::Param).collect();
        let list: Vec<String> = (1..=20).rev().map(|n| format!("${n}")).collect();
        let sql = format!("SELECT {}", list.join(", "));
        assert_eq!(read(&sql, &params), [20, 19, 18]);
    }

    #[test]
    fn a_placeholder_not_dollar_n_is_refused() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let sql = "SELECT :name";
        let stmt = conn.prepare(sql).unwrap();
        assert!(numbers(sql, &stmt).is_err());
    }
}
