//! Products: public listing and reads; create, update and delete for owners and staff. The
//! public see active products only, through the read cache; the store's owner and staff, signed
//! in, see drafts and archived ones too, never cached.

use crate::access::{Anyone, Staff, StoreScope};
use crate::dto::{CreateProductBody, ListProductsQuery, ProductPageView, ProductView, UpdateProductBody};
use crate::extract::{ApiJson, ApiQuery};
use crate::product_views::{Client, Visitor};
use crate::read_cache::ReadCondition;
use crate::state::GatewayState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mercato_proto::catalog::{
    CreateProductRequest, DeleteProductRequest, GetProductRequest, ListProductsRequest, UpdateProductRequest,
};
use mercato_runtime::auth::{Claims, Role};
use mercato_runtime::error::ServiceError;

/// Whether the caller runs the store, and so sees products that are not active.
fn runs_store(caller: &Option<Claims>) -> bool {
    caller
        .as_ref()
        .is_some_and(|c| matches!(c.role, Role::Owner | Role::Staff))
}

/// List a store's products: active ones, or (for its owner and staff, signed in) all of them.
#[utoipa::path(get, path = "/v1/stores/{store}/products", tag = "catalog",
    params(("store" = String, Path, description = "store slug"), ListProductsQuery, crate::dto::IfNoneMatch),
    security((), ("bearer" = [])),
    responses((status = 200, body = ProductPageView, description = "One page of products", headers(("ETag" = String, description = "The version of this answer, for `If-None-Match`"))),
              (status = 304, description = "The client's copy (`If-None-Match`) is current"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No store has this slug"),
              (status = 422, description = "A parameter is out of range or names no category")))]
pub async fn list_products(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    ApiQuery(query): ApiQuery<ListProductsQuery>,
    read: ReadCondition,
) -> Result<Response, ServiceError> {
    let catalog = state.catalog();
    let include_hidden = runs_store(&scope.caller);
    let fetch = |store_id| async move {
        let page = catalog
            .list_products(ListProductsRequest {
                store_id,
                category: query.category.unwrap_or_default(),
                sort: query.sort.unwrap_or_default(),
                page: query.page.unwrap_or(0),
                per_page: query.per_page.unwrap_or(0),
                include_hidden,
            })
            .await?;
        Ok(ProductPageView {
            items: page.products.into_iter().map(Into::into).collect(),
            page: page.page,
            per_page: page.per_page,
            total: page.total,
        })
    };
    if include_hidden {
        return Ok(axum::Json(fetch(scope.store.id).await?).into_response());
    }
    state.reads().read(&read, scope.store.id.clone(), fetch).await
}

/// One product, by id or slug: an active one, or (for its store's owner and staff, signed in)
/// any.
#[utoipa::path(get, path = "/v1/stores/{store}/products/{product}", tag = "catalog",
    params(("store" = String, Path, description = "store slug"), ("product" = String, Path, description = "product id or slug"), crate::dto::IfNoneMatch),
    security((), ("bearer" = [])),
    responses((status = 200, body = ProductView, description = "The product", headers(("ETag" = String, description = "The version of this answer, for `If-None-Match`"))),
              (status = 304, description = "The client's copy (`If-None-Match`) is current"),
              (status = 401, description = "The bearer token is invalid"),
              (status = 404, description = "No such store or product, or the product is a draft or archived and the caller does not run the store")))]
pub async fn get_product(
    State(state): State<GatewayState>,
    scope: StoreScope<Anyone>,
    Path((_store, key)): Path<(String, String)>,
    client: Client,
    read: ReadCondition,
) -> Result<Response, ServiceError> {
    let catalog = state.catalog();
    let include_hidden = runs_store(&scope.caller);
    // A shopper's view counts once the product is found (from the cache, `answer_cached` counts).
    let visitor = Visitor::of(scope.caller.as_ref(), &client);
    let (store, views) = (&scope.store.id, state.product_views());
    let fetch = |store_id| async move {
        let request = GetProductRequest {
            store_id,
            key,
            include_hidden,
        };
        let product = ProductView::from(catalog.get_product(request).await?);
        if let Some(visitor) = visitor {
            let now = mercato_runtime::time::now_ms();
            views.count(store, &product.id, visitor, now);
        }
        Ok(product)
    };
    if include_hidden {
        return Ok(axum::Json(fetch(scope.store.id.clone()).await?).into_response());
    }
    let product_id = |view: &ProductView| Some(view.id.clone());
    state
        .reads()
        .read_counted(&read, scope.store.id.clone(), fetch, product_id)
        .await
}

/// Create a product (owner or staff).
#[utoipa::path(post, path = "/v1/stores/{store}/products", tag = "catalog", request_body = CreateProductBody,
    params(("store" = String, Path, description = "store slug")), security(("bearer" = [])),
    responses((status = 201, body = ProductView, description = "The new product"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No store has this slug"),
              (status = 409, description = "`slug_taken`: the slug is taken in this store; `sku_taken`: a SKU is (the problem's `errors` name the field)"),
              (status = 422, description = "A field is invalid; `errors` names each one")))]
pub async fn create_product(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    ApiJson(body): ApiJson<CreateProductBody>,
) -> Result<(StatusCode, axum::Json<ProductView>), ServiceError> {
    let product = state
        .catalog()
        .create_product(CreateProductRequest {
            store_id: scope.store.id,
            slug: body.slug,
            title: body.title,
            description: body.description.unwrap_or_default(),
            category: body.category.unwrap_or_default(),
            tax_category: body.tax_category.unwrap_or_default(),
            status: body.status.unwrap_or_default(),
            options: body
                .options
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            variants: body.variants.into_iter().map(Into::into).collect(),
        })
        .await?;
    state.reads().invalidate(&product.store_id);
    Ok((StatusCode::CREATED, axum::Json(product.into())))
}

/// Change a product (owner or staff); absent fields are left as they are.
#[utoipa::path(patch, path = "/v1/stores/{store}/products/{product}", tag = "catalog", request_body = UpdateProductBody,
    params(("store" = String, Path, description = "store slug"), ("product" = uuid::Uuid, Path, description = "product id")),
    security(("bearer" = [])),
    responses((status = 200, body = ProductView, description = "The product as changed"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or product"),
              (status = 409, description = "`slug_taken`: the new slug is taken in this store; `sku_taken`: a SKU is; `changed_concurrently`: the product changed meanwhile, retry"),
              (status = 422, description = "The body is not an object, or a field is invalid; `errors` names each one")))]
pub async fn update_product(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, product_id)): Path<(String, String)>,
    ApiJson(body): ApiJson<UpdateProductBody>,
) -> Result<axum::Json<ProductView>, ServiceError> {
    let replace_variants = body.variants.is_some();
    let product = state
        .catalog()
        .update_product(UpdateProductRequest {
            store_id: scope.store.id,
            product_id,
            slug: body.slug,
            title: body.title,
            description: body.description,
            category: body.category,
            variants: body
                .variants
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
            replace_variants,
            tax_category: body.tax_category,
            status: body.status,
            options: body
                .options
                .unwrap_or_default()
                .into_iter()
                .map(Into::into)
                .collect(),
        })
        .await?;
    state.reads().invalidate(&product.store_id);
    Ok(axum::Json(product.into()))
}

/// Delete a product (owner or staff).
#[utoipa::path(delete, path = "/v1/stores/{store}/products/{product}", tag = "catalog",
    params(("store" = String, Path, description = "store slug"), ("product" = uuid::Uuid, Path, description = "product id")),
    security(("bearer" = [])),
    responses((status = 204, description = "The product is deleted"),
              (status = 401, description = "No valid bearer token"),
              (status = 403, description = "The caller is not the store's owner or staff"),
              (status = 404, description = "No such store or product"),
              (status = 422, description = "The product id is not a UUID")))]
pub async fn delete_product(
    State(state): State<GatewayState>,
    scope: StoreScope<Staff>,
    Path((_store, product_id)): Path<(String, String)>,
) -> Result<StatusCode, ServiceError> {
    let store = scope.store;
    state
        .catalog()
        .delete_product(DeleteProductRequest {
            store_id: store.id.clone(),
            product_id,
        })
        .await?;
    state.reads().invalidate(&store.id);
    Ok(StatusCode::NO_CONTENT)
}
