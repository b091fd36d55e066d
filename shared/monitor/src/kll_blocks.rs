//! Feeding a KLL sketch many values at once, compacted ahead in blocks.
//!
//! DataSketches' KLL takes values one at a time. Once it is full it compacts
//! whenever it runs out of room, and its lowest levels hold only a few values
//! each (their capacity falls to 8 as the sketch grows), so it sorts and halves
//! a handful of values at a time and merges them into the level above, which
//! took about a third of the CPU time of profiling a capture object.
//!
//! A KLL compaction sorts a level and keeps its values at the even or at the
//! odd positions, at random, each kept value now standing for twice the
//! weight. Halving the same sorted run `j` times keeps every `2^j`-th value
//! from an offset of `j` random bits, so a block of `KEPT × 2^j` values is
//! compacted `j` times by one sort and one strided pass. The `KEPT` values
//! left, each of weight `2^j`, enter the sketch through DataSketches' own
//! merge, as a sketch that holds them at level `j` (written in DataSketches'
//! binary format and read back, the one public way to build a sketch with
//! weighted values).
//!
//! The guarantee stays KLL's: each compaction moves any rank by at most the
//! weight of the level compacted, with a random sign, and those done here
//! compact at least `2 × KEPT` values at a time, more than the sketch's own
//! lowest levels (8) hold, so they add less error than the sketch's own
//! compactions of the same levels would. The result is an ordinary sketch,
//! stored, merged and queried as before.

use datasketches::kll::{KllFloat, KllSketch};
use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;

type Kll = KllSketch<KllFloat<f64>>;

/// Values kept from each compacted block.
const KEPT: usize = 128;
/// The most halvings of one block: 4,096 values (32 KB of sort keys) at a time.
const MAX_HALVINGS: u32 = 5;
/// DataSketches' smallest level capacity (`m`), the only one its format accepts.
const MIN_LEVEL_CAPACITY: u8 = 8;
/// DataSketches' family id of KLL, and its full (more than one value) preamble.
const KLL_FAMILY: u8 = 15;
const PREAMBLE_INTS_FULL: u8 = 5;
const SERIAL_VERSION_FULL: u8 = 1;

/// Adds every value that is not NaN (the sketch refuses NaN) to the sketch.
pub(crate) fn update_all(sketch: &mut Kll, values: &[f64]) {
    if values.iter().any(|value| value.is_nan()) {
        let numbers: Vec<f64> = values.iter().copied().filter(|value| !value.is_nan()).collect();
        return update_all(sketch, &numbers);
    }
    let mut keys = Vec::new();
    let mut rest = values;
    while rest.len() >= 2 * KEPT {
        let halvings = (rest.len() / KEPT).ilog2().min(MAX_HALVINGS);
        let (block, after) = rest.split_at(KEPT << halvings);
        merge_block(sketch, block, halvings, &mut keys);
        rest = after;
    }
    rest.iter().for_each(|value| update_one(sketch, *value));
}

fn update_one(sketch: &mut Kll, value: f64) {
    if let Ok(value) = KllFloat::<f64>::new(value) {
        sketch.update(value);
    }
}

/// Sorts a block of `KEPT << halvings` values, keeps `KEPT` of them, and merges those in.
fn merge_block(sketch: &mut Kll, block: &[f64], halvings: u32, keys: &mut Vec<u64>) {
    keys.clear();
    keys.extend(block.iter().map(|value| sort_key(*value)));
    // Integer keys sort faster than floats compared by `partial_cmp`, in the same order.
    keys.sort_unstable();
    let offset = (random_bits() & ((1 << halvings) - 1)) as usize;
    let kept: Vec<f64> = keys[offset..]
        .iter()
        .step_by(1 << halvings)
        .map(|key| from_sort_key(*key))
        .collect();
    let (min, max) = (from_sort_key(keys[0]), from_sort_key(keys[keys.len() - 1]));
    let image = weighted_image(sketch.k(), &kept, halvings as usize, (min, max));
    match image.map(|image| Kll::deserialize(&image)) {
        // The merge fails only when the total count overflows u64.
        Some(Ok(compacted)) => {
            let _ = sketch.merge(&compacted);
        }
        // Too small a `k` to hold the kept values at that level; or, never
        // seen (a unit test holds the image to that), an image refused. The
        // block is still counted, one value at a time.
        None | Some(Err(_)) => block.iter().for_each(|value| update_one(sketch, *value)),
    }
}

/// A u64 that orders as the f64 does (negative values reversed below the positive ones).
fn sort_key(value: f64) -> u64 {
    let bits = value.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

fn from_sort_key(key: u64) -> f64 {
    f64::from_bits(if key >> 63 == 1 { key & !(1 << 63) } else { !key })
}

/// DataSketches' compact image of a KLL sketch of accuracy `k` whose only
/// values are `kept` (sorted), at `level`, each of weight `2^level`; none
/// when so small a sketch cannot hold them.
fn weighted_image(k: u16, kept: &[f64], level: usize, (min, max): (f64, f64)) -> Option<Vec<u8>> {
    let levels = level + 1;
    let weight = (kept.len() as u64) << level;
    // Levels are stored as offsets into an array of the sketch's capacity, the values packed at its end.
    let first = total_capacity(k, levels).checked_sub(u32::try_from(kept.len()).ok()?)?;
    let mut image = Vec::with_capacity(20 + 4 * levels + 8 * (kept.len() + 2));
    image.extend_from_slice(&[PREAMBLE_INTS_FULL, SERIAL_VERSION_FULL, KLL_FAMILY, 0]);
    image.extend_from_slice(&k.to_le_bytes());
    image.extend_from_slice(&[MIN_LEVEL_CAPACITY, 0]);
    image.extend_from_slice(&weight.to_le_bytes());
    image.extend_from_slice(&k.to_le_bytes());
    image.extend_from_slice(&[levels as u8, 0]);
    // Every level below `level` is empty, so all start where the values do.
    (0..levels).for_each(|_| image.extend_from_slice(&first.to_le_bytes()));
    for value in [min, max].iter().chain(kept) {
        image.extend_from_slice(&value.to_le_bytes());
    }
    Some(image)
}

/// The number of values a KLL sketch of `levels` levels holds before it
/// compacts, as DataSketches computes it: about `k × (2/3)^depth` per level,
/// depth counted from the top, and at least 8.
fn total_capacity(k: u16, levels: usize) -> u32 {
    (0..levels)
        .map(|level| {
            let depth = (levels - level - 1) as u32;
            let scaled = (u64::from(k) << (depth + 1)) / 3u64.pow(depth);
            (((scaled + 1) >> 1) as u32).max(u32::from(MIN_LEVEL_CAPACITY))
        })
        .sum()
}

thread_local! {
    /// SplitMix64, seeded as DataSketches seeds its own coin: from the
    /// standard library's random hash keys, so that sketches built apart do
    /// not make the same choices and their errors do not add up when merged.
    static RANDOM_STATE: Cell<u64> = Cell::new(RandomState::new().hash_one(std::thread::current().id()));
}

fn random_bits() -> u64 {
    RANDOM_STATE.with(|state| {
        let next = state.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
        state.set(next);
        let mut mixed = next;
        mixed = (mixed ^ (mixed >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        mixed = (mixed ^ (mixed >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        mixed ^ (mixed >> 31)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_keys_order_as_the_numbers_do() {
        let values = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -1e-310,
            -0.0,
            0.0,
            1e-310,
            3.0,
            1e300,
            f64::INFINITY,
        ];
        let keys: Vec<u64> = values.iter().map(|value| sort_key(*value)).collect();
        assert!(keys.windows(2).all(|pair| pair[0] < pair[1]), "{keys:?}");
        for value in values {
            assert_eq!(from_sort_key(sort_key(value)).to_bits(), value.to_bits());
        }
    }

    /// The image is read back by DataSketches for every block size and the
    /// accuracies this crate uses, so no block falls back to one-by-one updates.
    #[test]
    fn every_weighted_image_reads_back_with_its_weight_and_bounds() {
        for k in [crate::sketch::QUANTILE_SKETCH_K, 200, 1000] {
            for level in 1..=MAX_HALVINGS as usize {
                let kept: Vec<f64> = (0..KEPT).map(|index| index as f64 * 0.5 - 3.0).collect();
                let image = weighted_image(k, &kept, level, (-7.0, 90.0)).unwrap();
                let sketch = Kll::deserialize(&image).unwrap_or_else(|error| panic!("k {k}, level {level}: {error}"));
                assert_eq!(sketch.n(), (KEPT as u64) << level);
                assert_eq!(sketch.num_retained(), KEPT);
                assert_eq!(sketch.min_item().map(|value| **value), Some(-7.0));
                assert_eq!(sketch.max_item().map(|value| **value), Some(90.0));
            }
        }
    }

    /// Any count, in blocks or not, and a `k` too small for a block's image (8).
    #[test]
    fn blocks_and_the_rest_are_all_counted_with_their_bounds() {
        for k in [crate::sketch::QUANTILE_SKETCH_K, 8] {
            for count in [0, 1, 255, 256, 257, 4096, 4096 * 3 + 1000, 100_000] {
                let values: Vec<f64> = (0..count).map(|index| ((index * 7919) % 1013) as f64 - 500.0).collect();
                let mut sketch = Kll::new(k).unwrap();
                update_all(&mut sketch, &values);
                assert_eq!(sketch.n(), count as u64, "{count} values, k {k}");
                let bounds = |value: Option<&KllFloat<f64>>| value.map(|value| **value);
                let low = values.iter().copied().reduce(f64::min);
                let high = values.iter().copied().reduce(f64::max);
                assert_eq!((bounds(sketch.min_item()), bounds(sketch.max_item())), (low, high));
            }
        }
        assert!(weighted_image(8, &[0.0; KEPT], 3, (0.0, 0.0)).is_none());
    }

    #[test]
    fn nan_is_left_out_as_update_leaves_it_out() {
        let mut values = vec![1.0; 600];
        values[10] = f64::NAN;
        let mut sketch = Kll::new(crate::sketch::QUANTILE_SKETCH_K).unwrap();
        update_all(&mut sketch, &values);
        assert_eq!(sketch.n(), 599);
    }
}
