//! Variant options: the option types a product's variants differ by (Size: S, M, L; Colour:
//! Red, Blue) and the value each variant has of each. The rules: at most 3 types with distinct
//! names, each with 1–50 distinct values; every variant names exactly one value of every type,
//! a value of that type, and no two variants name the same combination.

use super::values::{Lines, text};
use mercato_runtime::error::Validator;
use std::collections::HashSet;

const MAX_TYPES: usize = 3;
const MAX_VALUES: usize = 50;
const MAX_NAME: usize = 40;
const MAX_VALUE: usize = 60;

/// One option type and its values, in the order they were given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OptionType {
    pub name: String,
    pub values: Vec<String>,
}

/// Checks option types given as (name, values); `None` when one is bad (each reported).
pub fn option_types(v: &mut Validator, inputs: &[(String, Vec<String>)]) -> Option<Vec<OptionType>> {
    if inputs.len() > MAX_TYPES {
        v.add("options", "must hold at most 3 option types");
        return None;
    }
    let mut types = Vec::with_capacity(inputs.len());
    let mut names = HashSet::new();
    let mut ok = true;
    for (i, (name, values)) in inputs.iter().enumerate() {
        let field = format!("options[{i}].name");
        match v.check(text(&field, name, Lines::One, 1, MAX_NAME)) {
            Some(name) if !names.insert(name.to_lowercase()) => {
                v.add(&field, "is the name of another option type");
                ok = false;
            }
            None => ok = false,
            Some(_) => {}
        }
        if values.is_empty() || values.len() > MAX_VALUES {
            v.add(&format!("options[{i}].values"), "must hold 1-50 values");
            ok = false;
        }
        let mut seen = HashSet::new();
        for (j, value) in values.iter().enumerate() {
            let field = format!("options[{i}].values[{j}]");
            match v.check(text(&field, value, Lines::One, 1, MAX_VALUE)) {
                Some(value) if !seen.insert(value.to_lowercase()) => {
                    v.add(&field, "is already a value of this option type");
                    ok = false;
                }
                None => ok = false,
                Some(_) => {}
            }
        }
        types.push(OptionType {
            name: name.clone(),
            values: values.clone(),
        });
    }
    ok.then_some(types)
}

/// Each variant's values, one per option type in the types' order, from the (option, value)
/// pairs it names; `None` when one is bad (each reported under `variants[i].option_values`).
pub fn variant_values(
    v: &mut Validator,
    types: &[OptionType],
    variants: &[Vec<(String, String)>],
) -> Option<Vec<Vec<String>>> {
    let mut all = Vec::with_capacity(variants.len());
    let mut combinations = HashSet::new();
    let mut ok = true;
    for (i, named) in variants.iter().enumerate() {
        let field = format!("variants[{i}].option_values");
        match values_of(types, named) {
            // Without option types every variant has the empty combination, and that is fine.
            Ok(values) if !types.is_empty() && !combinations.insert(values.clone()) => {
                v.add(&field, "are the same as another variant's");
                ok = false;
            }
            Ok(values) => all.push(values),
            Err(message) => {
                v.add(&field, &message);
                ok = false;
            }
        }
    }
    ok.then_some(all)
}

fn values_of(types: &[OptionType], named: &[(String, String)]) -> Result<Vec<String>, String> {
    if named.len() != types.len() {
        return Err(match types.len() {
            0 => "must be empty: the product has no option types".to_owned(),
            n => format!("must name one value of each of the product's {n} option types"),
        });
    }
    let mut values = Vec::with_capacity(types.len());
    for t in types {
        let mut of_type = named.iter().filter(|(option, _)| *option == t.name);
        let Some((_, value)) = of_type.next() else {
            return Err(format!("must name a value of {}", t.name));
        };
        if of_type.next().is_some() {
            return Err(format!("name {} more than once", t.name));
        }
        if !t.values.contains(value) {
            return Err(format!("{value:?} is not a value of {}", t.name));
        }
        values.push(value.clone());
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn types() -> Vec<OptionType> {
        vec![
            OptionType {
                name: "Size".into(),
                values: vec!["S".into(), "M".into()],
            },
            OptionType {
                name: "Colour".into(),
                values: vec!["Red".into()],
            },
        ]
    }

    fn named(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(o, v)| (o.to_string(), v.to_string()))
            .collect()
    }

    fn fields(v: Validator) -> Vec<(String, String)> {
        v.finish().map_or_else(
            |e| e.fields.into_iter().map(|f| (f.field, f.message)).collect(),
            |_| vec![],
        )
    }

    #[test]
    fn each_variant_names_one_value_of_each_type_in_the_types_order() {
        let mut v = Validator::new();
        let values = variant_values(
            &mut v,
            &types(),
            &[
                named(&[("Colour", "Red"), ("Size", "S")]),
                named(&[("Size", "M"), ("Colour", "Red")]),
            ],
        );
        assert_eq!(values.unwrap(), [vec!["S", "Red"], vec!["M", "Red"]]);
    }

    #[test]
    fn missing_unknown_repeated_and_duplicate_choices_are_refused() {
        let mut v = Validator::new();
        let values = variant_values(
            &mut v,
            &types(),
            &[
                named(&[("Size", "S")]),
                named(&[("Size", "XL"), ("Colour", "Red")]),
                named(&[("Size", "S"), ("Size", "M")]),
                named(&[("Size", "M"), ("Colour", "Red")]),
                named(&[("Colour", "Red"), ("Size", "M")]),
            ],
        );
        assert!(values.is_none());
        let messages: Vec<String> = fields(v).into_iter().map(|(_, m)| m).collect();
        assert_eq!(
            messages,
            [
                "must name one value of each of the product's 2 option types",
                "\"XL\" is not a value of Size",
                "name Size more than once",
                "are the same as another variant's",
            ]
        );
    }

    #[test]
    fn option_types_have_distinct_names_and_values() {
        let mut v = Validator::new();
        let inputs = vec![
            ("Size".to_owned(), vec!["S".to_owned(), "s".to_owned()]),
            ("size".to_owned(), vec![]),
        ];
        assert!(option_types(&mut v, &inputs).is_none());
        let found: Vec<String> = fields(v).into_iter().map(|(f, _)| f).collect();
        assert_eq!(
            found,
            ["options[0].values[1]", "options[1].name", "options[1].values"]
        );
    }

    #[test]
    fn a_product_without_types_takes_variants_without_values() {
        let mut v = Validator::new();
        let none = variant_values(&mut v, &[], &[vec![], vec![]]).unwrap();
        assert_eq!(none, [Vec::<String>::new(), Vec::new()]);
        let mut v = Validator::new();
        let named = vec![("Size".to_owned(), "M".to_owned())];
        assert!(variant_values(&mut v, &[], &[named]).is_none());
    }
}
