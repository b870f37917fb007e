//! The import records' conversions between their REST shapes (`super`) and the contract's
//! `mercato.imports.v1` messages, field for field both ways (a customer's password hash only
//! inwards).

use super::*;

fn address_out(a: Option<Address>) -> Option<ImportAddress> {
    a.map(ImportAddress::from)
}

fn address_in(a: Option<ImportAddress>) -> Option<Address> {
    a.map(Address::from)
}

impl From<wire::ImportedCategory> for ImportCategory {
    fn from(c: wire::ImportedCategory) -> Self {
        Self {
            legacy_key: c.legacy_key,
            name: c.name,
            slug: c.slug,
            parent_legacy_key: c.parent_legacy_key,
            modified_at_ms: c.modified_at_ms,
        }
    }
}

impl From<ImportCategory> for wire::ImportedCategory {
    fn from(c: ImportCategory) -> Self {
        Self {
            legacy_key: c.legacy_key,
            name: c.name,
            slug: c.slug,
            parent_legacy_key: c.parent_legacy_key,
            modified_at_ms: c.modified_at_ms,
        }
    }
}

impl From<wire::ImportedProduct> for ImportProduct {
    fn from(p: wire::ImportedProduct) -> Self {
        Self {
            legacy_key: p.legacy_key,
            slug: p.slug,
            title: p.title,
            description: p.description,
            status: p.status,
            category_legacy_key: p.category_legacy_key,
            options: p
                .options
                .into_iter()
                .map(|o| ImportOption {
                    name: o.name,
                    values: o.values,
                })
                .collect(),
            variants: p
                .variants
                .into_iter()
                .map(|v| ImportVariant {
                    legacy_key: v.legacy_key,
                    sku: v.sku,
                    title: v.title,
                    price_minor: v.price_minor,
                    weight_grams: v.weight_grams,
                    requires_shipping: v.requires_shipping,
                    option_values: v
                        .option_values
                        .into_iter()
                        .map(|o| ImportOptionValue {
                            option: o.option,
                            value: o.value,
                        })
                        .collect(),
                })
                .collect(),
            image_urls: p.image_urls,
            modified_at_ms: p.modified_at_ms,
        }
    }
}

impl From<ImportProduct> for wire::ImportedProduct {
    fn from(p: ImportProduct) -> Self {
        Self {
            legacy_key: p.legacy_key,
            slug: p.slug,
            title: p.title,
            description: p.description,
            status: p.status,
            category_legacy_key: p.category_legacy_key,
            options: p
                .options
                .into_iter()
                .map(|o| wire::ImportedOption {
                    name: o.name,
                    values: o.values,
                })
                .collect(),
            variants: p
                .variants
                .into_iter()
                .map(|v| wire::ImportedVariant {
                    legacy_key: v.legacy_key,
                    sku: v.sku,
                    title: v.title,
                    price_minor: v.price_minor,
                    weight_grams: v.weight_grams,
                    requires_shipping: v.requires_shipping,
                    option_values: v
                        .option_values
                        .into_iter()
                        .map(|o| wire::ImportedOptionValue {
                            option: o.option,
                            value: o.value,
                        })
                        .collect(),
                })
                .collect(),
            image_urls: p.image_urls,
            modified_at_ms: p.modified_at_ms,
        }
    }
}

impl From<wire::ImportedStock> for ImportStock {
    fn from(s: wire::ImportedStock) -> Self {
        Self {
            sku: s.sku,
            on_hand: s.on_hand,
            modified_at_ms: s.modified_at_ms,
        }
    }
}

impl From<ImportStock> for wire::ImportedStock {
    fn from(s: ImportStock) -> Self {
        Self {
            sku: s.sku,
            on_hand: s.on_hand,
            modified_at_ms: s.modified_at_ms,
        }
    }
}

impl From<wire::ImportedCustomer> for ImportCustomer {
    /// Carries the password hash (the importer sends it); answers leave it out with
    /// [`ImportCustomer::without_password`].
    fn from(c: wire::ImportedCustomer) -> Self {
        Self {
            legacy_key: c.legacy_key,
            email: c.email,
            first_name: c.first_name,
            last_name: c.last_name,
            phone: c.phone,
            password_hash: c.password_hash,
            created_at_ms: c.created_at_ms,
            modified_at_ms: c.modified_at_ms,
            billing_address: address_out(c.billing_address),
            shipping_address: address_out(c.shipping_address),
        }
    }
}

impl From<ImportCustomer> for wire::ImportedCustomer {
    fn from(c: ImportCustomer) -> Self {
        Self {
            legacy_key: c.legacy_key,
            email: c.email,
            first_name: c.first_name,
            last_name: c.last_name,
            phone: c.phone,
            password_hash: c.password_hash,
            created_at_ms: c.created_at_ms,
            modified_at_ms: c.modified_at_ms,
            billing_address: address_in(c.billing_address),
            shipping_address: address_in(c.shipping_address),
        }
    }
}

impl From<wire::ImportedOrder> for ImportOrder {
    fn from(o: wire::ImportedOrder) -> Self {
        Self {
            legacy_key: o.legacy_key,
            number: o.number,
            customer_legacy_key: o.customer_legacy_key,
            email: o.email,
            status: o.status,
            legacy_status: o.legacy_status,
            currency: o.currency,
            lines: o
                .lines
                .into_iter()
                .map(|l| ImportOrderLine {
                    sku: l.sku,
                    title: l.title,
                    quantity: l.quantity,
                    subtotal_minor: l.subtotal_minor,
                    total_minor: l.total_minor,
                    tax_minor: l.tax_minor,
                })
                .collect(),
            shipping_minor: o.shipping_minor,
            discount_minor: o.discount_minor,
            tax_minor: o.tax_minor,
            total_minor: o.total_minor,
            refunded_minor: o.refunded_minor,
            created_at_ms: o.created_at_ms,
            modified_at_ms: o.modified_at_ms,
            billing_address: address_out(o.billing_address),
            shipping_address: address_out(o.shipping_address),
        }
    }
}

impl From<ImportOrder> for wire::ImportedOrder {
    fn from(o: ImportOrder) -> Self {
        Self {
            legacy_key: o.legacy_key,
            number: o.number,
            customer_legacy_key: o.customer_legacy_key,
            email: o.email,
            status: o.status,
            legacy_status: o.legacy_status,
            currency: o.currency,
            lines: o
                .lines
                .into_iter()
                .map(|l| wire::ImportedOrderLine {
                    sku: l.sku,
                    title: l.title,
                    quantity: l.quantity,
                    subtotal_minor: l.subtotal_minor,
                    total_minor: l.total_minor,
                    tax_minor: l.tax_minor,
                })
                .collect(),
            shipping_minor: o.shipping_minor,
            discount_minor: o.discount_minor,
            tax_minor: o.tax_minor,
            total_minor: o.total_minor,
            refunded_minor: o.refunded_minor,
            created_at_ms: o.created_at_ms,
            modified_at_ms: o.modified_at_ms,
            billing_address: address_in(o.billing_address),
            shipping_address: address_in(o.shipping_address),
        }
    }
}
