//! Images as the contract's messages.

use crate::domain::{ImageRecord, Rendition};
use mercato_proto::catalog as pb;

impl ImageRecord {
    pub fn to_proto(&self) -> pb::ProductImage {
        pb::ProductImage {
            id: self.id.to_string(),
            product_id: self.product_id.to_string(),
            position: self.position,
            alt: self.alt.clone(),
            status: self.status.as_str().to_owned(),
            content_hash: self.content_hash.clone(),
            width: self.width,
            height: self.height,
            content_type: self.content_type.clone(),
            renditions: self.renditions.iter().map(rendition).collect(),
            job_id: self.job_id.clone(),
            created_at_ms: self.created_at_ms,
        }
    }
}

fn rendition(r: &Rendition) -> pb::ImageRendition {
    pb::ImageRendition {
        size: r.size.clone(),
        format: r.format.clone(),
        width: r.width,
        height: r.height,
        bytes: r.bytes,
        key: r.key.clone(),
    }
}
