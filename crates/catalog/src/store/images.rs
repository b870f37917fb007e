//! The `product_images` table: products read with their images (one query per page), and the
//! image changes, each one transaction that also bumps the product's version and appends its
//! `product_updated` event (with the images), so caches and search learn of it.

use super::sql::{load_category, load_product, placeholders};
use super::{Refusal, StoreError};
use crate::domain::image::MAX_IMAGES_PER_PRODUCT;
use crate::domain::{ImageId, ImageRecord, ImageStatus, ProductId, ProductRecord, Rendition};
use crate::events;
use mercato_runtime::db::{Db, Param, Tx};
use mercato_runtime::ids::StoreId;
use mercato_runtime::jobs::{JobQueue, NewJob};
use mercato_runtime::outbox;
use std::collections::HashMap;

const COLUMNS: &str = "id, product_id, position, alt, status, content_hash, width, height, content_type, renditions, job_id, created_at";

type ImageRow = (
    String,
    String,
    i64,
    String,
    String,
    String,
    i64,
    i64,
    String,
    String,
    String,
    i64,
);

/// How an `images.derive` job ended.
#[derive(Clone, Debug)]
pub enum Derived {
    /// The sizes exist; the original's dimensions with its orientation applied.
    Ready {
        width: u32,
        height: u32,
        renditions: Vec<Rendition>,
    },
    /// The original does not decode: no sizes will ever exist.
    Failed,
}

/// A change to an image's alt text or place.
#[derive(Clone, Debug, Default)]
pub struct ImagePatch {
    pub alt: Option<String>,
    pub position: Option<u32>,
}

/// The product images in a [`Db`] (the catalog's).
#[derive(Clone)]
pub struct ImageStore {
    db: Db,
}

impl ImageStore {
    pub fn new(db: Db) -> Self {
        ImageStore { db }
    }

    /// Adds `image` to its product at `wanted` (absent: last) and enqueues `job` in the same
    /// transaction; the answer has the job's id. The product must exist in the store.
    pub async fn add(
        &self,
        store: &StoreId,
        image: ImageRecord,
        wanted: Option<u32>,
        queue: JobQueue,
        job: NewJob,
    ) -> Result<(ImageRecord, ProductRecord), StoreError> {
        let store = *store;
        self.db
            .write("add_product_image", move |tx| {
                let count = lock_product_images(tx, &store, &image.product_id)?;
                if count >= MAX_IMAGES_PER_PRODUCT {
                    return Err(StoreError::Refused(Refusal::TooManyImages(count)));
                }
                let position = crate::domain::image::insertion_position(wanted, count);
                tx.execute(
                    "UPDATE product_images SET position = position + 1
                     WHERE store_id = $1 AND product_id = $2 AND position >= $3",
                    &[&store, &image.product_id, &position],
                )?;
                let job = queue.enqueue(tx, &job)?;
                let image = ImageRecord {
                    position,
                    job_id: job.id,
                    ..image
                };
                insert(tx, &store, &image)?;
                let product = touch_product(tx, &store, &image.product_id)?;
                Ok((image, product))
            })
            .await
    }

    /// One image of a product, if it exists.
    pub async fn image(
        &self,
        store: &StoreId,
        product: &ProductId,
        id: &ImageId,
    ) -> Result<Option<ImageRecord>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM product_images WHERE store_id = $1 AND product_id = $2 AND id = $3"
        );
        let row: Option<ImageRow> = self.db.query_opt(&sql, &[store, product, id]).await?;
        row.map(image).transpose()
    }

    /// Changes an image's alt text and moves it (the others close up behind it).
    pub async fn update(
        &self,
        store: &StoreId,
        product: &ProductId,
        id: &ImageId,
        patch: ImagePatch,
    ) -> Result<(ImageRecord, ProductRecord), StoreError> {
        let (store, product, id) = (*store, *product, *id);
        self.db
            .write("update_product_image", move |tx| {
                let count = lock_product_images(tx, &store, &product)?;
                let current = locked_image(tx, &store, &product, &id)?;
                if let Some(alt) = &patch.alt {
                    tx.execute(
                        "UPDATE product_images SET alt = $1 WHERE store_id = $2 AND id = $3",
                        &[alt, &store, &id],
                    )?;
                }
                if let Some(wanted) = patch.position {
                    let last = u32::try_from(count.saturating_sub(1)).unwrap_or(u32::MAX);
                    move_image(tx, &store, &current, wanted.min(last))?;
                }
                let product = touch_product(tx, &store, &product)?;
                let image = product
                    .images
                    .iter()
                    .find(|i| i.id == id)
                    .cloned()
                    .ok_or(StoreError::Refused(Refusal::Missing("image")))?;
                Ok((image, product))
            })
            .await
    }

    /// Deletes an image (the ones after it move up); answers it and the product as changed.
    pub async fn delete(
        &self,
        store: &StoreId,
        product: &ProductId,
        id: &ImageId,
    ) -> Result<(ImageRecord, ProductRecord), StoreError> {
        let (store, product, id) = (*store, *product, *id);
        self.db
            .write("delete_product_image", move |tx| {
                lock_product_images(tx, &store, &product)?;
                let image = locked_image(tx, &store, &product, &id)?;
                tx.execute(
                    "DELETE FROM product_images WHERE store_id = $1 AND id = $2",
                    &[&store, &id],
                )?;
                tx.execute(
                    "UPDATE product_images SET position = position - 1
                     WHERE store_id = $1 AND product_id = $2 AND position > $3",
                    &[&store, &product, &image.position],
                )?;
                let product = touch_product(tx, &store, &product)?;
                Ok((image, product))
            })
            .await
    }

    /// Records how deriving `id`'s sizes for the content `hash` ended. `None` when the image
    /// is gone or now holds other content (deleted meanwhile): nothing to record.
    pub async fn finish(
        &self,
        store: &StoreId,
        product: &ProductId,
        id: &ImageId,
        hash: &str,
        derived: Derived,
    ) -> Result<Option<ProductRecord>, StoreError> {
        let (store, product, id, hash) = (*store, *product, *id, hash.to_owned());
        self.db
            .write("finish_product_image", move |tx| {
                match lock_product_images(tx, &store, &product) {
                    Ok(_) => {}
                    Err(StoreError::Refused(Refusal::Missing(_))) => return Ok(None),
                    Err(e) => return Err(e),
                }
                let done = match &derived {
                    Derived::Ready {
                        width,
                        height,
                        renditions,
                    } => {
                        let json = serde_json::to_string(renditions)
                            .map_err(|e| StoreError::Unserializable(e.to_string()))?;
                        tx.execute(
                            "UPDATE product_images SET status = $1, width = $2, height = $3, renditions = $4
                             WHERE store_id = $5 AND id = $6 AND content_hash = $7",
                            &[
                                &ImageStatus::Ready.as_str(),
                                width,
                                height,
                                &json,
                                &store,
                                &id,
                                &hash,
                            ],
                        )?
                    }
                    Derived::Failed => tx.execute(
                        "UPDATE product_images SET status = $1 WHERE store_id = $2 AND id = $3 AND content_hash = $4",
                        &[&ImageStatus::Failed.as_str(), &store, &id, &hash],
                    )?,
                };
                if done == 0 {
                    return Ok(None);
                }
                touch_product(tx, &store, &product).map(Some)
            })
            .await
    }
}

/// Locks the product's row (so concurrent image changes of one product take turns and keep
/// positions without gaps) and counts its images; the product must exist.
fn lock_product_images(tx: &mut Tx<'_>, store: &StoreId, product: &ProductId) -> Result<usize, StoreError> {
    let sql = format!(
        "SELECT id FROM products WHERE store_id = $1 AND id = $2{}",
        tx.lock_rows()
    );
    let found: Option<(String,)> = tx.query_opt(&sql, &[store, product])?;
    if found.is_none() {
        return Err(StoreError::Refused(Refusal::Missing("product")));
    }
    let (count,): (i64,) = tx.query_one(
        "SELECT COUNT(*) FROM product_images WHERE store_id = $1 AND product_id = $2",
        &[store, product],
    )?;
    Ok(usize::try_from(count).unwrap_or(0))
}

fn locked_image(
    tx: &mut Tx<'_>,
    store: &StoreId,
    product: &ProductId,
    id: &ImageId,
) -> Result<ImageRecord, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM product_images WHERE store_id = $1 AND product_id = $2 AND id = $3");
    let row: Option<ImageRow> = tx.query_opt(&sql, &[store, product, id])?;
    row.map(image)
        .transpose()?
        .ok_or(StoreError::Refused(Refusal::Missing("image")))
}

/// Moves `image` to `to`, shifting the images between its old and new place by one.
fn move_image(tx: &mut Tx<'_>, store: &StoreId, image: &ImageRecord, to: u32) -> Result<(), StoreError> {
    let from = image.position;
    if to < from {
        tx.execute(
            "UPDATE product_images SET position = position + 1
             WHERE store_id = $1 AND product_id = $2 AND position >= $3 AND position < $4",
            &[store, &image.product_id, &to, &from],
        )?;
    } else if to > from {
        tx.execute(
            "UPDATE product_images SET position = position - 1
             WHERE store_id = $1 AND product_id = $2 AND position > $3 AND position <= $4",
            &[store, &image.product_id, &from, &to],
        )?;
    }
    tx.execute(
        "UPDATE product_images SET position = $1 WHERE store_id = $2 AND id = $3",
        &[&to, store, &image.id],
    )?;
    Ok(())
}

fn insert(tx: &mut Tx<'_>, store: &StoreId, i: &ImageRecord) -> Result<(), StoreError> {
    let renditions =
        serde_json::to_string(&i.renditions).map_err(|e| StoreError::Unserializable(e.to_string()))?;
    tx.execute(
        &format!(
            "INSERT INTO product_images ({COLUMNS}, store_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        ),
        &[
            &i.id,
            &i.product_id,
            &i.position,
            &i.alt,
            &i.status.as_str(),
            &i.content_hash,
            &i.width,
            &i.height,
            &i.content_type,
            &renditions,
            &i.job_id,
            &i.created_at_ms,
            store,
        ],
    )?;
    Ok(())
}

/// Bumps the product's version, reads it back with its images and appends its
/// `product_updated` event: what every image change ends with.
fn touch_product(tx: &mut Tx<'_>, store: &StoreId, id: &ProductId) -> Result<ProductRecord, StoreError> {
    let now = mercato_runtime::time::now_ms();
    tx.execute(
        "UPDATE products SET version = version + 1,
           updated_at = CASE WHEN updated_at > $1 THEN updated_at ELSE $1 END
         WHERE store_id = $2 AND id = $3",
        &[&now, store, id],
    )?;
    let product = load_product(tx, store, id)?.ok_or(StoreError::Refused(Refusal::Missing("product")))?;
    let category = match &product.category_id {
        Some(c) => load_category(tx, store, c)?,
        None => None,
    };
    let event = events::product_changed(events::PRODUCT_UPDATED, &product, category.as_ref());
    outbox::append(tx, &event)?;
    Ok(product)
}

/// Loads the images of all `products` with one query, in position order.
pub(super) fn attach_images(
    tx: &mut Tx<'_>,
    store: &StoreId,
    products: &mut [ProductRecord],
) -> Result<(), StoreError> {
    if products.is_empty() {
        return Ok(());
    }
    let sql = format!(
        "SELECT {COLUMNS} FROM product_images WHERE store_id = $1 AND product_id IN ({})
         ORDER BY product_id, position",
        placeholders(2, products.len())
    );
    let mut params: Vec<&dyn Param> = vec![store];
    for p in products.iter() {
        params.push(&p.id);
    }
    let rows: Vec<ImageRow> = tx.query_all(&sql, &params)?;
    let mut by_product: HashMap<ProductId, Vec<ImageRecord>> = HashMap::new();
    for row in rows {
        let image = image(row)?;
        by_product.entry(image.product_id).or_default().push(image);
    }
    for p in products.iter_mut() {
        p.images = by_product.remove(&p.id).unwrap_or_default();
    }
    Ok(())
}

fn image(row: ImageRow) -> Result<ImageRecord, StoreError> {
    let (
        id,
        product_id,
        position,
        alt,
        status,
        content_hash,
        width,
        height,
        content_type,
        renditions,
        job_id,
        created_at_ms,
    ) = row;
    let corrupt = |what: &str| StoreError::Corrupt(format!("product image {id}: {what}"));
    Ok(ImageRecord {
        id: ImageId(id.parse().map_err(|_| corrupt("id"))?),
        product_id: ProductId(product_id.parse().map_err(|_| corrupt("product id"))?),
        position: u32::try_from(position).map_err(|_| corrupt("position"))?,
        alt,
        status: ImageStatus::parse(&status).ok_or_else(|| corrupt("status"))?,
        content_hash,
        width: u32::try_from(width).map_err(|_| corrupt("width"))?,
        height: u32::try_from(height).map_err(|_| corrupt("height"))?,
        content_type,
        renditions: serde_json::from_str(&renditions).map_err(|_| corrupt("renditions"))?,
        job_id,
        created_at_ms,
    })
}
