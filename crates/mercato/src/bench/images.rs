//! `mercato bench images`: product images derived per second — the `images.derive` job's CPU
//! work (decode, orient, scale to three sizes, encode each as WebP and JPEG) on generated
//! photos, on one thread and then on several at once. Writing the six files (a local directory
//! or a bucket) is not included: it is IO the job waits on, not work it does.

use image::codecs::jpeg::JpegEncoder;
use image::{ExtendedColorType, ImageEncoder, RgbImage};
use mercato_catalog::images::derive::derive;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct ImagesArgs {
    /// Photos generated (and each derived once per run).
    #[arg(long, default_value_t = 24)]
    pub photos: usize,
    #[arg(long, default_value_t = 3000)]
    pub width: u32,
    #[arg(long, default_value_t = 2000)]
    pub height: u32,
    /// Threads deriving at once in the second run (the job's per-process concurrency is 2).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
}

pub async fn images(args: &ImagesArgs) -> anyhow::Result<()> {
    let args = args.clone();
    tokio::task::spawn_blocking(move || run(&args)).await?
}

fn run(args: &ImagesArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let photos: Vec<Vec<u8>> = (0..args.photos)
        .map(|seed| photo(args.width, args.height, seed as u32))
        .collect();
    let average = photos.iter().map(Vec::len).sum::<usize>() / photos.len().max(1);
    println!(
        "images: {} photos of {}×{} (JPEG q90, {} KiB on average) made in {:.1} s",
        photos.len(),
        args.width,
        args.height,
        average / 1024,
        started.elapsed().as_secs_f64()
    );
    for threads in [1, args.threads.max(1)] {
        let (elapsed, mut latencies, bytes) = derive_all(&photos, threads)?;
        latencies.sort();
        let rate = photos.len() as f64 / elapsed.as_secs_f64();
        println!(
            "images: {threads} thread(s): {rate:.2} images/s; per image p50 {} ms, max {} ms; six sizes {} KiB on average",
            latencies[latencies.len() / 2].as_millis(),
            latencies.last().map_or(0, Duration::as_millis),
            bytes / photos.len() / 1024
        );
    }
    Ok(())
}

/// Derives every photo on `threads` threads; the wall time, each image's time and the bytes made.
fn derive_all(photos: &[Vec<u8>], threads: usize) -> anyhow::Result<(Duration, Vec<Duration>, usize)> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let started = Instant::now();
    let results: Vec<anyhow::Result<Vec<(Duration, usize)>>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(photo) = photos.get(i) else { break };
                        let t = Instant::now();
                        let made = derive(photo)?;
                        let bytes = made.files.iter().map(|f| f.bytes.len()).sum();
                        mine.push((t.elapsed(), bytes));
                    }
                    Ok(mine)
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a worker panicked")))
            })
            .collect()
    });
    let elapsed = started.elapsed();
    let mut latencies = Vec::new();
    let mut bytes = 0;
    for result in results {
        for (latency, made) in result? {
            latencies.push(latency);
            bytes += made;
        }
    }
    Ok((elapsed, latencies, bytes))
}

/// A photo-like JPEG: smooth gradients with a little noise (so it does not compress to
/// nothing), different for each `seed`.
fn photo(width: u32, height: u32, seed: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(2_654_435_761).max(1);
    let pixels = RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = state % 24;
        let r = (x * 255 / width.max(1) + noise) % 256;
        let g = (y * 255 / height.max(1) + noise) % 256;
        let b = ((x + y + seed * 37) / 8 + noise) % 256;
        image::Rgb([r as u8, g as u8, b as u8])
    });
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, 90)
        .write_image(pixels.as_raw(), width, height, ExtendedColorType::Rgb8)
        .expect("encoding a generated photo");
    out
}
