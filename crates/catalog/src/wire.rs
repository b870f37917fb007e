//! The catalog contract at the edge: the domain's product and category records as
//! `catalog.proto` messages. The domain knows no wire format; its records get their
//! `to_proto` here.

use crate::domain::{CategoryRecord, ProductRecord, VariantRecord};
use mercato_proto::catalog as pb;
use mercato_runtime::ids::StoreId;

impl CategoryRecord {
    pub fn to_proto(&self, store_id: &StoreId) -> pb::Category {
        pb::Category {
            id: self.id.to_string(),
            store_id: store_id.to_string(),
            slug: self.slug.clone(),
            name: self.name.clone(),
            parent_id: self.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        }
    }
}

impl ProductRecord {
    /// The product with its variants, each priced in the product's currency.
    pub fn to_proto(&self) -> pb::Product {
        pb::Product {
            id: self.id.to_string(),
            store_id: self.store_id.to_string(),
            slug: self.slug.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            category_id: self.category_id.map(|c| c.to_string()).unwrap_or_default(),
            variants: self.variants.iter().map(|v| self.variant(v)).collect(),
            created_at_ms: self.created_at_ms,
            updated_at_ms: self.updated_at_ms,
            version: self.version,
            tax_category: self.tax_category.clone(),
            status: self.status.as_str().to_owned(),
            options: self
                .options
                .iter()
                .map(|o| pb::OptionType {
                    name: o.name.clone(),
                    values: o.values.clone(),
                })
                .collect(),
            images: self.images.iter().map(|i| i.to_proto()).collect(),
        }
    }

    fn variant(&self, v: &VariantRecord) -> pb::Variant {
        pb::Variant {
            id: v.id.to_string(),
            sku: v.sku.clone(),
            title: v.title.clone(),
            price: Some(pb::Money {
                amount_minor: v.price_minor,
                currency: self.currency.clone(),
            }),
            weight_grams: v.weight_grams,
            requires_shipping: Some(v.requires_shipping),
            option_values: self
                .options
                .iter()
                .zip(&v.option_values)
                .map(|(o, value)| pb::OptionValue {
                    option: o.name.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }
}
