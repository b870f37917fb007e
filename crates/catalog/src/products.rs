//! Product use cases: create, update, delete, get and list.

use crate::domain::{CategoryLookup, CategoryRecord, ProductId, ProductRecord, ProductStatus, Sort, tree};
use crate::events;
use crate::listing_cache::PageKey;
use crate::requests;
use crate::service::{CatalogService, store_id};
use crate::store::{ProductQuery, StoreError};
use mercato_proto::catalog as pb;
use mercato_runtime::error::ServiceError;
use mercato_runtime::ids::StoreId;
use mercato_runtime::money::Currency;
use mercato_runtime::time::now_ms;

/// Attempts at a read-modify-write before giving up on a product that keeps changing.
const ATTEMPTS: usize = 3;
const DEFAULT_PER_PAGE: u32 = 20;
const MAX_PER_PAGE: u32 = 100;

impl CatalogService {
    pub(crate) async fn create_product(
        &self,
        req: pb::CreateProductRequest,
    ) -> Result<pb::Product, ServiceError> {
        let store = store_id(&req.store_id)?;
        let category = self.lookup_category(&store, &req.category).await?;
        let currency = self.store_currency(&store).await?;
        let new = requests::new_product(&req, category, currency)?;
        let category = new.category.clone();
        let product = ProductRecord::create(store, new, now_ms());
        let event = events::product_changed(events::PRODUCT_CREATED, &product, category.as_ref());
        self.store.insert_product(&store, &product, &event).await?;
        self.after_commit(store, product.id, vec![product.slug.clone()])
            .await;
        Ok(product.to_proto())
    }

    pub(crate) async fn update_product(
        &self,
        req: pb::UpdateProductRequest,
    ) -> Result<pb::Product, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = product_id(&req.product_id)?;
        let category = match &req.category {
            Some(key) => Some(self.lookup_category(&store, key).await?),
            None => None,
        };
        for _ in 0..ATTEMPTS {
            let current = self.load(&store, &id).await?;
            let currency = match self.store_currency(&store).await? {
                Some(c) => Some(c),
                None => Currency::parse(&current.currency).ok(),
            };
            let patch = requests::product_patch(&req, category.clone(), currency)?;
            let new_category = match &patch.category {
                Some(c) => c.clone(),
                None => self.category_of(&store, &current).await?,
            };
            let old_slug = current.slug.clone();
            let expected = current.version;
            let next = current.apply(patch, now_ms());
            let event = events::product_changed(events::PRODUCT_UPDATED, &next, new_category.as_ref());
            match self.store.update_product(&store, &next, expected, &event).await {
                Ok(()) => {
                    self.after_commit(store, id, vec![old_slug, next.slug.clone()])
                        .await;
                    return Ok(next.to_proto());
                }
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Stale.into())
    }

    pub(crate) async fn delete_product(
        &self,
        req: pb::DeleteProductRequest,
    ) -> Result<pb::DeleteProductResponse, ServiceError> {
        let store = store_id(&req.store_id)?;
        let id = product_id(&req.product_id)?;
        for _ in 0..ATTEMPTS {
            let current = self.load(&store, &id).await?;
            let event = events::product_deleted(&store, &id, current.version + 1);
            match self
                .store
                .delete_product(&store, &id, current.version, &event)
                .await
            {
                Ok(()) => {
                    self.after_commit(store, id, vec![current.slug.clone()]).await;
                    self.forget_image_files(&store, &current.images).await;
                    return Ok(pb::DeleteProductResponse {});
                }
                Err(StoreError::Stale) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(StoreError::Stale.into())
    }

    /// One product by id or slug, through the cache; a product that is not active is found only
    /// with `include_hidden` (the store's staff), and is otherwise as absent as a deleted one.
    pub(crate) async fn get_product(&self, req: pb::GetProductRequest) -> Result<pb::Product, ServiceError> {
        let product = self.find_product(&req).await?;
        if !req.include_hidden && !is_public(&product) {
            return Err(ServiceError::not_found("product"));
        }
        Ok(product)
    }

    async fn find_product(&self, req: &pb::GetProductRequest) -> Result<pb::Product, ServiceError> {
        let store = store_id(&req.store_id)?;
        let key = req.key.trim();
        if let Ok(id) = key.parse::<ProductId>()
            && let Some(p) = self.product_by_id(&store, &id).await?
        {
            return Ok(p);
        }
        if let Some(id) = self.cache.id_for_slug(&store, key).await
            && let Some(p) = self.product_by_id(&store, &id).await?
            && p.slug == key
        {
            return Ok(p);
        }
        let id = self
            .store
            .product_id_by_slug(&store, key)
            .await?
            .ok_or_else(|| ServiceError::not_found("product"))?;
        self.product_by_id(&store, &id)
            .await?
            .ok_or_else(|| ServiceError::not_found("product"))
    }

    /// A page of products, optionally within a category and its descendants. An unknown
    /// category is a 404: a storefront link to a removed category should say so, not show an
    /// empty shelf.
    pub(crate) async fn list_products(
        &self,
        req: pb::ListProductsRequest,
    ) -> Result<pb::ListProductsResponse, ServiceError> {
        let store = store_id(&req.store_id)?;
        let sort = Sort::parse(&req.sort)?;
        let page = req.page.max(1);
        let per_page = match req.per_page {
            0 => DEFAULT_PER_PAGE,
            n => n.min(MAX_PER_PAGE),
        };
        let key = PageKey {
            include_hidden: req.include_hidden,
            category: req.category.clone(),
            sort: req.sort.clone(),
            page,
            per_page,
        };
        let generation = self.listings.generation(&store);
        if let Some(cached) = self.listings.get(&store, generation, &key).await {
            return Ok((*cached).clone());
        }
        let categories = match self.lookup_category(&store, &req.category).await? {
            CategoryLookup::None => None,
            CategoryLookup::Found(root) => {
                let all = self.store.categories(&store).await?;
                Some(tree::with_descendants(&all, root.id))
            }
            CategoryLookup::Unknown => return Err(ServiceError::not_found("category")),
        };
        let query = ProductQuery {
            categories,
            public_only: !req.include_hidden,
            sort,
            limit: i64::from(per_page),
            offset: (i64::from(page) - 1) * i64::from(per_page),
        };
        let (products, total) = self.store.products(&store, &query).await?;
        let response = pb::ListProductsResponse {
            products: products.iter().map(ProductRecord::to_proto).collect(),
            total,
            page,
            per_page,
        };
        self.listings.put(&store, generation, key, response.clone()).await;
        Ok(response)
    }

    async fn product_by_id(
        &self,
        store: &StoreId,
        id: &ProductId,
    ) -> Result<Option<pb::Product>, ServiceError> {
        if let Some(p) = self.cache.by_id(store, id).await {
            return Ok(Some(p));
        }
        let Some(record) = self.store.product(store, id).await? else {
            return Ok(None);
        };
        let product = record.to_proto();
        self.cache.put(store, &product).await;
        Ok(Some(product))
    }

    async fn load(&self, store: &StoreId, id: &ProductId) -> Result<ProductRecord, ServiceError> {
        self.store
            .product(store, id)
            .await?
            .ok_or_else(|| ServiceError::not_found("product"))
    }

    async fn category_of(
        &self,
        store: &StoreId,
        product: &ProductRecord,
    ) -> Result<Option<CategoryRecord>, ServiceError> {
        match &product.category_id {
            Some(id) => Ok(self.store.category_by_id(store, id).await?),
            None => Ok(None),
        }
    }

    /// The store's currency from `store_provisioned`, the default for prices without one.
    async fn store_currency(&self, store: &StoreId) -> Result<Option<Currency>, ServiceError> {
        let code = self.store.store_currency(store).await?;
        Ok(code.and_then(|c| Currency::parse(&c).ok()))
    }
}

/// Whether shoppers may see a product (an empty status, from before statuses, is active).
fn is_public(p: &pb::Product) -> bool {
    ProductStatus::parse("status", &p.status).is_ok_and(ProductStatus::is_public)
}

/// A product id from a request; one that is not a UUID names no product.
fn product_id(s: &str) -> Result<ProductId, ServiceError> {
    s.trim().parse().map_err(|_| ServiceError::not_found("product"))
}
